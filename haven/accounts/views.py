from __future__ import annotations

import io
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven.access.decorators import enrolment, public, requires, staff
from haven.access.permissions import Perm
from haven.accounts import forms, selectors, services, webauthn
from haven.accounts.decorators import reauth_required
from haven.accounts.models import User
from haven.accounts.sessions import key_hash
from haven.core.errors import HavenError
from haven.core.forms import apply_error


def request_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - guaranteed by the access decorator
    return request.user


def _posted(request: HttpRequest) -> QueryDict | None:
    """The POST data to bind a form to; an empty POST is bound too, so it shows its errors."""
    return request.POST if request.method == "POST" else None


def safe_next(request: HttpRequest, default: str = "core:dashboard") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(default)


def _next_param(request: HttpRequest) -> str:
    """A safe local ``next`` from the query string, to carry through a form; else empty."""
    target = request.GET.get("next") or request.POST.get("next") or ""
    return target if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}) else ""


@public
def login(request: HttpRequest) -> HttpResponse:
    if services.second_factor_passed(request.user):
        return redirect("core:dashboard")
    form = forms.LoginForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_password(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except HavenError as exc:
            form.add_error(None, exc.message)
            status = 400  # one answer for unknown, wrong, disabled, waiting and locked
        else:
            target = "accounts:verify" if services.has_confirmed_device(user) else "accounts:enrol"
            nxt = request.POST.get("next", "")
            return redirect(f"{reverse(target)}?next={nxt}" if nxt.startswith("/") else reverse(target))
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login.html",
                  {"form": form, "next": request.GET.get("next", "")}, status=status)


def _signed_in(request: HttpRequest, notice: services.FailureNotice | None) -> HttpResponse:
    """Where a completed sign-in lands: told of failed attempts meanwhile, and a coordinator
    with a single security key is sent to add a spare first."""
    if notice is not None:
        messages.warning(request, notice.message())
    if services.needs_spare_key(request_user(request)):
        messages.info(request, _("Add a second security key and keep it somewhere safe: with "
                                 "only one, losing it means another coordinator must reset "
                                 "your sign-in."))
        return redirect("accounts:keys")
    return redirect(safe_next(request))


def key_context(request: HttpRequest, user: User) -> dict[str, object]:
    """What the pages that offer a security key need (the scripts' configuration)."""
    has_keys = services.security_keys(user).exists()
    return {
        "rp_id": webauthn.rp_id(),
        "webauthn_available": webauthn.available(request),
        "has_keys": has_keys,
        "keys_required": services.keys_required(user),
        "webauthn_config": {
            "csrfToken": get_token(request),
            "nextFieldSelector": "input[name='next']",
            "autocompleteLoginFieldSelector": None,
            "beginAuthenticationUrl": reverse("accounts:key_assert_begin"),
            "completeAuthenticationUrl": reverse("accounts:key_assert_complete"),
            "beginRegistrationUrl": reverse("accounts:key_register_begin"),
            "completeRegistrationUrl": reverse("accounts:key_register_complete"),
        },
    }


@enrolment
def verify(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not services.has_confirmed_device(user):
        return redirect("accounts:enrol")
    form = forms.CodeForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.login_second_factor(request=request, user=user,
                                                  code=form.cleaned_data["code"])
        except HavenError as exc:
            if not request.user.is_authenticated:
                messages.error(request, exc.message)
                return redirect("accounts:login")
            form.add_error("code", exc.message)
            status = exc.status if exc.status in (403, 429) else 400
        else:
            return _signed_in(request, notice)
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/verify.html",
                  {"form": form, "next": _next_param(request), **key_context(request, user)},
                  status=status)


def _enrol_refusal(request: HttpRequest) -> HttpResponse | None:
    """A user who already has a second factor replaces it only after re-authenticating, so a
    stolen session cannot swap the factor (and take new recovery codes) to keep its access."""
    user = request_user(request)
    if not services.has_confirmed_device(user):
        return None
    if not services.second_factor_passed(user):
        return redirect("accounts:verify")
    if not services.recent_auth_ok(request):
        return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': reverse('accounts:enrol')})}")
    return None


@enrolment
def enrol(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    refusal = _enrol_refusal(request)
    if refusal is not None:
        return refusal
    device = services.totp_device_pending(user=user)
    form = forms.CodeForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_enrol_confirm(request=request, user=user,
                                                code=form.cleaned_data["code"])
        except HavenError as exc:
            apply_error(form, exc)
            status = 400
        else:
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    elif request.method == "POST":
        status = 400
    secret = selectors.totp_secret_b32(device)
    return render(request, "accounts/enrol.html",
                  {"form": form, "secret": secret, "uri": device.config_url,
                   **key_context(request, user)}, status=status)


@enrolment
def enrol_qr(request: HttpRequest) -> HttpResponse:
    refusal = _enrol_refusal(request)
    if refusal is not None:
        return refusal
    device = services.totp_device_pending(user=request_user(request))
    # A standalone SVG document (with its xmlns), not svg_inline(): browsers render an <img>
    # of an SVG without the namespace as nothing.
    svg = io.BytesIO()
    segno.make(device.config_url, error="m").save(svg, kind="svg", xmldecl=False, scale=5,
                                                  dark="#1d2a33")
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")


@enrolment
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    services.logout(request=request)
    messages.info(request, _("You are logged out."))
    return redirect("accounts:login")


@staff
def reauth(request: HttpRequest) -> HttpResponse:
    """Password and a fresh code; or, with a security key, the password and then the key (the
    only way for a coordinator who has one)."""
    user = request_user(request)
    keys = key_context(request, user)
    mode = request.POST.get("mode", "")
    form = forms.ReauthForm(request.POST if request.method == "POST" and mode != "key" else None)
    key_form = forms.ReauthPasswordForm(request.POST if mode == "key" else None)
    status = 200
    if request.method == "POST":
        status = 400
        bound = key_form if mode == "key" else form
        if bound.is_valid():
            try:
                if mode == "key":
                    services.reauth_password(request=request, user=user,
                                             password=key_form.cleaned_data["password"])
                else:
                    services.reauthenticate(request=request, user=user,
                                            password=form.cleaned_data["password"],
                                            code=form.cleaned_data["code"])
            except HavenError as exc:
                if not request.user.is_authenticated:
                    messages.error(request, exc.message)
                    return redirect("accounts:login")
                bound.add_error(None, exc.message)
            else:
                if mode != "key":
                    return redirect(safe_next(request))
                status = 200
    return render(request, "accounts/reauth.html", {
        "form": form, "key_form": key_form, "next": _next_param(request),
        "key_step": services.reauth_password_pending(request) and mode == "key" and status == 200,
        **keys}, status=status)


def _account(request: HttpRequest, token_form: forms.TokenCreateForm, status: int = 200
             ) -> HttpResponse:
    user = request_user(request)
    key = request.session.session_key
    return render(request, "accounts/account.html", {
        "sessions": selectors.session_list(user=user),
        "current_hash": key_hash(key) if key else "",
        "tokens": selectors.token_list(user=user)[:200],
        "token_form": token_form,
        "key_count": services.security_keys(user).count(),
        "reauth_minutes": settings.HAVEN_REAUTH_MINUTES,
        "keys_required": services.keys_required(user),
    }, status=status)


@staff
def account(request: HttpRequest) -> HttpResponse:
    return _account(request, forms.TokenCreateForm())


@staff
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    count = services.sessions_end_others(actor=request_user(request), keep_key=request.session.session_key)
    messages.success(request, _("Ended %(count)d other sessions.") % {"count": count})
    return redirect("accounts:account")


@staff
def password_change(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(request=request, actor=request_user(request),
                                     old=form.cleaned_data["old_password"],
                                     new=form.cleaned_data["new_password"])
        except HavenError as exc:
            if not request.user.is_authenticated:
                messages.error(request, exc.message)
                return redirect("accounts:login")
            apply_error(form, exc)
            status = exc.status if exc.status in (423, 429) else 400
        else:
            messages.success(request, _("Your password was changed."))
            return redirect("accounts:account")
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/password_change.html", {"form": form}, status=status)


@staff
@reauth_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = services.recovery_codes_regenerate(actor=request_user(request))
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@staff
@reauth_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = forms.TokenCreateForm(request.POST)
    if form.is_valid():
        try:
            raw, token = services.token_create(
                actor=user, user=user, name=form.cleaned_data["name"],
                expires_days=form.cleaned_data["expires_days"],
                read_only=form.cleaned_data["read_only"])
        except HavenError as exc:
            apply_error(form, exc)
        else:
            return render(request, "accounts/token_created.html", {"raw": raw, "token": token})
    return _account(request, form, status=400)


@staff
@reauth_required
@require_POST
def token_approve(request: HttpRequest, token_id: str) -> HttpResponse:
    """Let one of my tokens show sensitive data for a few minutes (after re-authenticating
    here): how a coordinator who signs in with a security key steps a script's token up."""
    try:
        services.token_approve(actor=request_user(request), token_id=token_id)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The token may show sensitive data for %(minutes)d "
                                    "minutes.") % {"minutes": settings.HAVEN_REAUTH_MINUTES})
    return redirect("accounts:account")


@staff
@require_POST
def token_revoke(request: HttpRequest, token_id: str) -> HttpResponse:
    try:
        services.token_revoke(actor=request_user(request), token_id=token_id)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The token was revoked."))
    return redirect("accounts:account")


# --- coordinators manage accounts ---------------------------------------------------------------


@requires(Perm.ACCOUNT_MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    page = selectors.user_page(request, actor=request_user(request), q=request.GET.get("q", ""))
    return render(request, "accounts/user_list.html", {"page": page, "q": request.GET.get("q", "")})


@requires(Perm.ACCOUNT_MANAGE)
@reauth_required
def user_create(request: HttpRequest) -> HttpResponse:
    """A new account (a coordinator may create coordinators): after re-authenticating."""
    actor = request_user(request)
    form = forms.UserCreateForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=actor, organization=actor.organization,
                                        **form.cleaned_data)
        except HavenError as exc:
            apply_error(form, exc)
            status = 400
        else:
            messages.success(request, _("Account %(name)s created.") % {"name": user.username})
            return redirect("accounts:user_list")
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/user_create.html", {"form": form}, status=status)


ACTIONS = {
    "disable": lambda actor, uid: services.user_set_active(actor=actor, user_id=uid, active=False),
    "enable": lambda actor, uid: services.user_set_active(actor=actor, user_id=uid, active=True),
    "unlock": lambda actor, uid: services.user_unlock(actor=actor, user_id=uid),
    "reset-second-factor": lambda actor, uid: services.user_reset_second_factor(actor=actor,
                                                                                user_id=uid),
}


@reauth_required
def _sensitive_action(request: HttpRequest, user_id: str, action: str) -> HttpResponse:
    return _user_action(request, user_id, action)


@requires(Perm.ACCOUNT_MANAGE)
@require_POST
def user_action(request: HttpRequest, user_id: str, action: str) -> HttpResponse:
    """Disable, enable, unlock, or reset another's second factor (this one only after
    re-authenticating: it hands the account to whoever enrols next)."""
    if action == "reset-second-factor":
        return _sensitive_action(request, user_id, action)
    return _user_action(request, user_id, action)


def _user_action(request: HttpRequest, user_id: str, action: str) -> HttpResponse:
    handler = ACTIONS.get(action)
    if handler is None:
        messages.error(request, _("Unknown action."))
        return redirect("accounts:user_list")
    try:
        user = handler(request_user(request), user_id)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done: %(action)s for %(name)s.") % {
            "action": action, "name": user.username})
    return redirect("accounts:user_list")


# --- auditors read who works here ---------------------------------------------------------------


@requires(Perm.STAFF_LIST)
def staff_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:64]
    page = selectors.staff_directory(request, actor=request_user(request), q=q)
    return render(request, "accounts/staff_list.html", {"page": page, "q": q})
