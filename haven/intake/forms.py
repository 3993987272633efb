"""Input shapes for the intake pages; the rules themselves live in ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from haven.intake import services
from haven.intake.models import Status, Urgency


def _interpolate(message: Any, values: dict[str, Any]) -> str:
    return str(message) % values


# ``gettext_lazy(...) % values`` is translated once, at import, in the default language;
# this defers both to rendering, in the reader's language.
lazy_format = lazy(_interpolate, str)


class RequestForm(forms.Form):
    contact = forms.CharField(
        label=_("How can we contact you safely?"), max_length=services.MAX_CONTACT, strip=False,
        help_text=lazy_format(_("For example a messenger account, an e-mail address or a phone "
                                "number that is safe for you. At most %(n)d characters."),
                              {"n": services.MAX_CONTACT}),
    )
    region = forms.CharField(
        label=_("Where are you now, roughly?"), max_length=services.MAX_REGION, strip=False,
        help_text=_("Country and region or city only. Do not give an address."),
    )
    story = forms.CharField(
        label=_("What happened, and what help do you need?"), max_length=services.MAX_STORY,
        strip=False, widget=forms.Textarea(attrs={"rows": 8}),
        help_text=lazy_format(_("At most %(n)d characters. Do not name other people who could "
                                "be put at risk."), {"n": services.MAX_STORY}),
    )
    urgency = forms.ChoiceField(label=_("How urgent is it?"), choices=Urgency.choices,
                                widget=forms.RadioSelect)


class CodenameForm(forms.Form):
    codename = forms.CharField(
        label=_("Your codename"), max_length=services.MAX_CODENAME,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                      "spellcheck": "false"}),
        help_text=_("The seven words you were given, in their order (1 to 7), separated by "
                    "spaces."),
    )


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=services.MAX_MESSAGE, strip=False,
                           widget=forms.Textarea(attrs={"rows": 5}))


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), max_length=services.MAX_MESSAGE, strip=False,
                           widget=forms.Textarea(attrs={"rows": 5}))
    ask_for_info = forms.BooleanField(label=_("This asks the person for more information"),
                                      required=False)


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=[(s.value, s.label) for s in Status if s != Status.ACCEPTED])


class ConvertForm(forms.Form):
    legal_name = forms.CharField(
        label=_("Legal name"), max_length=300, required=False,
        help_text=_("As the person gave it (any script). If it is not known yet, write what "
                    "identifies them for now; it can be changed on the case."))
    other_names = forms.CharField(label=_("Other names"), max_length=1000, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=64, required=False)
    link_case = forms.UUIDField(required=False, widget=forms.HiddenInput)
    create_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("link_case") and not (data.get("legal_name") or "").strip():
            self.add_error("legal_name", _("A legal name is needed to open a case."))
        return data


class GroupCloseForm(forms.Form):
    to = forms.ChoiceField(choices=[(s.value, s.label) for s in services.GROUP_DECISIONS])
    seen_until = forms.DateTimeField()
