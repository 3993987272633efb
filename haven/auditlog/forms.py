from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class EventFilterForm(forms.Form):
    """Filter the log by who, which case, what and when; names and numbers, never ids."""

    actor = forms.CharField(label=_("Staff member"), max_length=64, required=False,
                            help_text=_("Username"),
                            widget=forms.TextInput(attrs={"list": "audit-staff"}))
    case = forms.CharField(label=_("Case number"), max_length=16, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "HV-…"}))
    action = forms.CharField(label=_("Action"), max_length=64, required=False,
                             help_text=_("Pick one, or type the start of its code"),
                             widget=forms.TextInput(attrs={"list": "audit-actions"}))
    since = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
