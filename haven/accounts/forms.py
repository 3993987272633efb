"""Input validation for account pages. Rules live in services; forms only check shape."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from haven.access.roles import Role


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=64,
                               widget=forms.TextInput(attrs={"autocomplete": "username",
                                                             "autofocus": True}))
    password = forms.CharField(label=_("Password"), max_length=512, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32,
        help_text=_("The six digits from your authenticator app, or a recovery code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


class ReauthForm(forms.Form):
    password = forms.CharField(label=_("Password"), max_length=512, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    code = forms.CharField(label=_("Code"), max_length=32,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric"}))


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), max_length=512, strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("New password"), max_length=512, strip=False,
                                   help_text=_("At least 12 characters; a phrase of several words is best."),
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password_again = forms.CharField(label=_("New password again"), max_length=512,
                                         strip=False,
                                         widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=64)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    language = forms.ChoiceField(label=_("Language"), choices=[("en", "English"), ("ru", "Русский")])
    password = forms.CharField(label=_("Initial password"), max_length=512, strip=False,
                               help_text=_("Give it to the person in a safe way; they enrol "
                                           "their second factor at first login."),
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class ReauthPasswordForm(forms.Form):
    """Re-authenticating with a security key: the password first, then the key."""

    password = forms.CharField(label=_("Password"), max_length=512, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100,
                           help_text=_("What the token is for, for example “monthly report script”."))
    expires_days = forms.IntegerField(
        label=_("Expires after (days)"), min_value=1, max_value=settings.HAVEN_TOKEN_MAX_DAYS,
        initial=settings.HAVEN_TOKEN_DEFAULT_DAYS, required=False)
    read_only = forms.BooleanField(label=_("Read-only"), required=False,
                                   help_text=_("It may read but never change anything, and "
                                               "never shows sensitive data."))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["expires_days"].help_text = _(
            "At most %(max)d days. Make a new token when it expires.") % {
            "max": settings.HAVEN_TOKEN_MAX_DAYS}
