from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ShareForm(forms.Form):
    share = forms.CharField(
        label=_("Your share"), max_length=1000, strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false",
                                     "autocapitalize": "none"}),
        help_text=_("The words of your share, in order, separated by spaces."),
    )
