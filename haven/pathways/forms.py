"""Input validation for the pathways pages; the rules themselves live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from haven.cases.forms import BLANK, set_choices
from haven.cases.models import member_labels
from haven.pathways.models import (
    DOSSIER_FIELDS,
    ApplicantOutcome,
    ApplicationStatus,
    DateKind,
    PathwayStatus,
    PathwayType,
    ReferrerKind,
    StatusObtained,
)

AS = ApplicationStatus
DATE = forms.DateInput(attrs={"type": "date"})


def _date(label: Any, *, required: bool = False) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DATE)


class PathwayFilterForm(forms.Form):
    country = forms.ChoiceField(label=_("Country"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=BLANK + PathwayStatus.choices)
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=BLANK + PathwayType.choices)

    def __init__(self, *args: Any, countries: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "country", BLANK + [(c.code, c.name) for c in countries])


class OutcomesFilterForm(forms.Form):
    country = forms.ChoiceField(label=_("Destination"), required=False)

    def __init__(self, *args: Any, countries: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "country", BLANK + [(c.code, c.name) for c in countries])


class ApplicationStartForm(forms.Form):
    """Which pathway, for which members, following which refused application."""

    pathway = forms.SlugField(widget=forms.HiddenInput)
    follows = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # Not required here: the service refuses an empty choice with its own message.
    members = forms.MultipleChoiceField(label=_("Applicants"), required=False,
                                        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, members: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "members", list(member_labels(members).items()))


class TransitionForm(forms.Form):
    """The details of one move (``to``, given outside the form: it is the form's prefix).
    Fields that do not belong to the target are not shown and not passed to the service."""

    on = _date(_("Day it happened"))
    submitted_to = forms.CharField(label=_("Submitted to"), max_length=300, required=False)
    external_reference = forms.CharField(label=_("External reference"), max_length=300,
                                         required=False)
    interview_on = _date(_("Interview date"))
    interview_label = forms.CharField(label=_("Interview: what and where"), max_length=300,
                                      required=False)
    deadline = _date(_("Deadline"))
    deadline_label = forms.CharField(label=_("What is requested"), max_length=300,
                                     required=False)
    refusal_reasons = forms.CharField(label=_("Refusal reasons"), max_length=5000,
                                      required=False, widget=forms.Textarea(attrs={"rows": 2}))
    valid_from = _date(_("Visa valid from"))
    valid_until = _date(_("Visa valid until"))

    def __init__(self, *args: Any, details: Any = frozenset(), applicants: Any = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep = {"on", *details}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        self.applicants = list(applicants) if "outcomes" in details else []
        choices = BLANK + [(o.value, o.label) for o in ApplicantOutcome
                           if o != ApplicantOutcome.PENDING]
        labels = member_labels(a.member for a in self.applicants)
        for applicant in self.applicants:
            self.fields[f"outcome_{applicant.member_id}"] = forms.ChoiceField(
                label=_("Outcome for %(who)s") % {"who": labels[str(applicant.member_id)]},
                choices=choices, required=False,
                help_text=_("Leave blank to take the decision's own outcome."))

    def details(self) -> dict[str, Any]:
        """The cleaned details for the service: blank ones left out, outcomes gathered."""
        data = self.cleaned_data
        out: dict[str, Any] = {name: data[name] for name in self.fields
                               if not name.startswith("outcome_") and name != "on"
                               and data.get(name) not in (None, "")}
        outcomes = {str(a.member_id): data[f"outcome_{a.member_id}"] for a in self.applicants
                    if data.get(f"outcome_{a.member_id}")}
        if outcomes:
            out["outcomes"] = outcomes
        return out


class ApplicationUpdateForm(forms.Form):
    # The version the editor saw; a save on top of a newer one is refused (no lost update).
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    submitted_to = forms.CharField(label=_("Submitted to"), max_length=300, required=False)
    external_reference = forms.CharField(label=_("External reference"), max_length=300,
                                         required=False)
    refusal_reasons = forms.CharField(label=_("Refusal reasons"), max_length=5000,
                                      required=False, widget=forms.Textarea(attrs={"rows": 2}))
    valid_from = _date(_("Visa valid from"))
    valid_until = _date(_("Visa valid until"))


class DateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DateKind.choices)
    on = _date(_("Date"), required=True)
    label = forms.CharField(label=_("What is due"), max_length=300, required=False)
    entry = forms.UUIDField(required=False, widget=forms.HiddenInput)


class DossierRequestForm(forms.Form):
    # Not named "fields", which every form already has (its field table).
    include = forms.MultipleChoiceField(
        label=_("Fields to include"), widget=forms.CheckboxSelectMultiple,
        choices=[(name, label) for name, label in DOSSIER_FIELDS.items()])
    language = forms.ChoiceField(label=_("Language of the dossier"),
                                 choices=[("en", _("English")), ("ru", _("Russian"))])


class DossierDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("decline", _("Decline"))])


class TravelPlanForm(forms.Form):
    members = forms.MultipleChoiceField(label=_("Travellers"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    application = forms.ChoiceField(label=_("On the visa of application"), required=False)
    depart_on = _date(_("Departure date"))
    route = forms.CharField(label=_("Route"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
    transit_points = forms.CharField(label=_("Transit points"), max_length=2000, required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))
    escort = forms.CharField(label=_("Escort"), max_length=300, required=False)

    def __init__(self, *args: Any, members: Any = (), applications: Any = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "members", list(member_labels(members).items()))
        set_choices(self, "application", BLANK + [
            (str(a.pk), f"{a.pathway.name} · {a.get_status_display()}") for a in applications])


class TravelUpdateForm(forms.Form):
    depart_on = _date(_("Departure date"))
    route = forms.CharField(label=_("Route"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
    transit_points = forms.CharField(label=_("Transit points"), max_length=2000, required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))
    escort = forms.CharField(label=_("Escort"), max_length=300, required=False)

    def __init__(self, *args: Any, with_route: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_route:
            for name in ("route", "transit_points", "escort"):
                del self.fields[name]


class ArrivalForm(forms.Form):
    country = forms.ChoiceField(label=_("Country of arrival"))
    arrived_on = _date(_("Arrived on"))
    status_obtained = forms.ChoiceField(label=_("Status obtained"),
                                        choices=StatusObtained.choices)
    receiving_partner = forms.CharField(label=_("Receiving partner or sponsor"), max_length=300,
                                        required=False)
    follow_up_on = _date(_("Follow-up date"))

    def __init__(self, *args: Any, countries: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "country", BLANK + [(c.code, c.name) for c in countries])


class PathwayEditForm(forms.Form):
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=300)
    name_ru = forms.CharField(label=_("Name in Russian"), max_length=300, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=PathwayType.choices)
    status = forms.ChoiceField(label=_("Status"), choices=PathwayStatus.choices)
    status_since = _date(_("Status since"))
    referrer_kind = forms.ChoiceField(label=_("Who must refer or sponsor"),
                                      choices=ReferrerKind.choices)
    referrer = forms.CharField(label=_("Referrer or sponsor, in detail"), required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    eligibility_notes = forms.CharField(label=_("Eligibility notes"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 3}))
    processing_days_min = forms.IntegerField(label=_("Processing days (fastest)"),
                                             required=False, min_value=0)
    processing_days_typical = forms.IntegerField(label=_("Processing days (typical)"),
                                                 required=False, min_value=0)
    processing_days_max = forms.IntegerField(label=_("Processing days (slowest)"),
                                             required=False, min_value=0)
    cost = forms.CharField(label=_("Cost"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    uncertain = forms.CharField(label=_("What is uncertain"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))

    EDITABLE = ("name", "name_ru", "type", "status", "status_since", "referrer_kind",
                "referrer", "eligibility_notes", "processing_days_min",
                "processing_days_typical", "processing_days_max", "cost", "uncertain")

    def changes(self, pathway: Any) -> dict[str, Any]:
        """Only what differs from the pathway (an unchanged status keeps its date)."""
        data = self.cleaned_data
        return {name: data[name] for name in self.EDITABLE
                if data.get(name) != getattr(pathway, name)
                and not (name == "status_since" and data.get(name) is None)}
