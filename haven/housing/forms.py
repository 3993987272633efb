"""Input validation for the shelter pages and placement forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from haven.cases.models import member_labels
from haven.housing.models import ShelterStatus


class ShelterForm(forms.Form):
    code_name = forms.CharField(label=_("Code name"), max_length=64,
                                help_text=_("Says nothing about the place: everyone sees it."))
    coarse_place = forms.CharField(label=_("Area"), max_length=200, required=False)
    address = forms.CharField(label=_("Exact address"), max_length=500,
                              help_text=_("Coordinators only; sealed."),
                              widget=forms.Textarea(attrs={"rows": 2}))
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=500)


class ShelterTransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("Status"), choices=ShelterStatus.choices)


class PlacementForm(forms.Form):
    """Beds for one or more members of the household in one shelter, in one action."""

    planned_in = forms.DateField(label=_("Planned arrival"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, members: Any = (), shelters: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rows = [m for _pid, m in members]
        labels = member_labels(rows)
        self.fields["person"] = forms.MultipleChoiceField(
            label=_("People"), widget=forms.CheckboxSelectMultiple,
            help_text=_("Everyone chosen is placed together, or nobody is."),
            choices=[(str(m.person_id), labels[str(m.pk)]) for m in rows],
            # The household travelling together is the usual group: all checked to start.
            initial=[str(m.person_id) for m in rows if m.travels_with])
        self.fields["shelter"] = forms.ChoiceField(
            label=_("Shelter"),
            choices=[(str(s.pk), f"{s.code_name} ({s.occupied}/{s.capacity})") for s in shelters])
        self.order_fields(["person", "shelter", "planned_in"])
