"""Input validation for the case pages; the rules themselves live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from haven.cases.models import (
    PERSON_FIELDS,
    CaseType,
    ClosureReason,
    DocType,
    Method,
    Outcome,
    Priority,
    Relationship,
    RiskLevel,
    SharedField,
    Status,
    TaskStatus,
    Visibility,
    member_labels,
)

BLANK: list[tuple[str, Any]] = [("", "—")]


def set_choices(form: forms.Form, name: str, choices: list[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)  # noqa: S101 - a programming error otherwise
    field.choices = choices


class CaseOpenForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name (any script)"), max_length=300)
    other_names = forms.CharField(label=_("Other names and aliases"), max_length=1000,
                                  required=False)
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False)
    case_type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices,
                                 initial=Priority.NORMAL)
    summary = forms.CharField(label=_("Summary (no names)"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, phone or case number"), max_length=200, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=BLANK + Status.choices, required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=BLANK + Priority.choices,
                                 required=False)
    risk = forms.ChoiceField(label=_("Risk"), choices=BLANK + RiskLevel.choices, required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    # Each filter, and the case field it reveals by elimination.
    REVEALS = {"status": "status", "priority": "priority", "risk": "risk_level",
               "assignee": "assigned_to"}

    def __init__(self, *args: Any, staff: Any = (), fields: Any = None,
                 search_people: bool = True, **kwargs: Any) -> None:
        """``fields``: the case fields the user's projection shows (``policy.case_filterable``);
        a filter on any other field is not offered. ``search_people``: False for a role that
        may find cases by number only."""
        super().__init__(*args, **kwargs)
        for name, reveals in self.REVEALS.items():
            if fields is not None and reveals not in fields:
                del self.fields[name]
        if "assignee" in self.fields:
            set_choices(self, "assignee", [("", "—"), ("me", _("Me")), ("none", _("Unassigned")),
                                           *[(str(u.pk), u.username) for u in staff]])
        if not search_people:
            self.fields["q"].label = _("Case number")


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("Move to"), choices=Status.choices)
    closure_reason = forms.ChoiceField(label=_("Closure reason"),
                                       choices=BLANK + ClosureReason.choices, required=False)

    def __init__(self, *args: Any, targets: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if targets is not None:
            set_choices(self, "to", [(t.value, t.label) for t in targets])


class StaffChoiceForm(forms.Form):
    """Choose a colleague among ``staff``; the service checks role and organization again."""

    field_name = "user"

    def __init__(self, *args: Any, staff: Any = (), required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.field_name] = forms.ModelChoiceField(
            label=self.label, queryset=staff, required=required)

    label: Any = _("Colleague")


class AssignForm(StaffChoiceForm):
    field_name = "assignee"
    label = _("Caseworker")


class VerifierForm(StaffChoiceForm):
    field_name = "verifier"
    label = _("Verifier")


class ReferralForm(StaffChoiceForm):
    field_name = "liaison"
    label = _("Partner liaison")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shared_fields"] = forms.MultipleChoiceField(
            label=_("Fields to share"), choices=SharedField.choices,
            widget=forms.CheckboxSelectMultiple, required=False)


class CaseUpdateForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    case_type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)
    # The version the editor saw; a save on top of a newer one is refused (no lost update).
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)


class VerificationSubmitForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    methods = forms.MultipleChoiceField(label=_("How was it checked?"), choices=Method.choices,
                                        widget=forms.CheckboxSelectMultiple)
    narrative = forms.CharField(label=_("Narrative"), max_length=20000,
                                widget=forms.Textarea(attrs={"rows": 4}))
    red_flags = forms.CharField(label=_("Red flags"), max_length=20000, required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))


class ApprovalForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[
        ("approve", _("Approve “verified”")), ("return", _("Return to the verifier"))])


class RiskForm(forms.Form):
    immediacy = forms.ChoiceField(label=_("Immediacy"), choices=RiskLevel.choices)
    recommended_priority = forms.ChoiceField(label=_("Recommended priority"),
                                             choices=Priority.choices)
    next_review = forms.DateField(label=_("Next review"),
                                  widget=forms.DateInput(attrs={"type": "date"}))
    threat_actors = forms.CharField(label=_("Threat actors"), required=False, max_length=20000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    incidents = forms.CharField(label=_("Incidents"), required=False, max_length=20000,
                                widget=forms.Textarea(attrs={"rows": 2}))
    exit_obstacles = forms.CharField(label=_("Exit obstacles"), required=False, max_length=20000,
                                     widget=forms.Textarea(attrs={"rows": 2}))


class MemberForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name (any script)"), max_length=300)
    other_names = forms.CharField(label=_("Other names and aliases"), max_length=1000,
                                  required=False)
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False)
    relationship = forms.ChoiceField(
        label=_("Relationship to the principal"),
        choices=[c for c in Relationship.choices if c[0] != Relationship.SELF])
    travels_with = forms.BooleanField(label=_("Travels with the household"), required=False,
                                      initial=True)
    confidential_fields = forms.MultipleChoiceField(
        label=_("Keep confidential from the other members"), required=False,
        choices=list(PERSON_FIELDS.items()), widget=forms.CheckboxSelectMultiple)


class ProfileForm(forms.Form):
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    legal_name = forms.CharField(label=_("Legal name (any script)"), max_length=300)
    other_names = forms.CharField(label=_("Other names and aliases"), max_length=1000,
                                  required=False)
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False)
    birth_date = forms.CharField(label=_("Birth date"), max_length=10, required=False,
                                 help_text=_("YYYY, YYYY-MM or YYYY-MM-DD"))
    nationality = forms.CharField(label=_("Nationality"), max_length=300, required=False)
    languages = forms.CharField(label=_("Languages"), max_length=300, required=False)
    contact_handle = forms.CharField(label=_("Secure contact"), max_length=300, required=False)
    duress_word = forms.CharField(label=_("Duress word"), max_length=300, required=False)
    coarse_location = forms.CharField(label=_("Coarse location"), max_length=300, required=False)
    story = forms.CharField(label=_("Story"), max_length=20000, required=False,
                            widget=forms.Textarea(attrs={"rows": 6}))
    sogi = forms.CharField(label=_("Orientation and gender identity"), max_length=2000,
                           required=False)
    health = forms.CharField(label=_("Health"), max_length=20000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(label=_("Who may read it"), choices=Visibility.choices)

    def __init__(self, *args: Any, visibilities: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if visibilities is not None:
            set_choices(self, "visibility", [(v, Visibility(v).label) for v in visibilities])


class TaskForm(StaffChoiceForm):
    field_name = "assignee"
    label = _("Assignee")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, required=False, **kwargs)
        self.fields["title"] = forms.CharField(label=_("Task"), max_length=500)
        self.fields["due"] = forms.DateField(label=_("Due"), required=False,
                                             widget=forms.DateInput(attrs={"type": "date"}))
        self.fields["priority"] = forms.ChoiceField(label=_("Priority"), choices=Priority.choices,
                                                    initial=Priority.NORMAL)
        self.order_fields(["title", "assignee", "due", "priority"])


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Show"), required=False, choices=[
        (TaskStatus.OPEN.value, _("Open")), (TaskStatus.DONE.value, _("Done"))])


class DocumentForm(forms.Form):
    """Whose document it is (a member of the case, by their place in the household), its
    type, and — optionally — the application it was made for."""

    person = forms.ChoiceField(label=_("Whose document"))
    doc_type = forms.ChoiceField(label=_("Type"), choices=DocType.choices)
    application = forms.ChoiceField(label=_("Made for the application"), required=False,
                                    help_text=_("Leave empty for a document every application "
                                                "may use (a passport)."))

    def __init__(self, *args: Any, members: Any = (), applications: Any = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rows = list(members)
        labels = member_labels(rows)
        set_choices(self, "person", [(str(m.person_id), labels[str(m.pk)]) for m in rows])
        set_choices(self, "application", BLANK + [
            (str(a.pk), f"{a.pathway.name} · {a.get_status_display()}") for a in applications])
        if not applications:
            del self.fields["application"]
