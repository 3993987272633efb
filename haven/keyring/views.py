"""The unseal page, the sealed notice, and the "Seal now" button."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haven.access.decorators import requires, staff
from haven.access.permissions import Perm
from haven.core.errors import HavenError
from haven.keyring import client, services, state
from haven.keyring.forms import ShareForm
from haven.keyring.middleware import allowed_while_sealed


@allowed_while_sealed
@requires(Perm.KEYS_UNSEAL)
@require_http_methods(["GET", "POST"])
def unseal(request: HttpRequest) -> HttpResponse:
    form = ShareForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            progress = services.unseal_submit_share(actor=request.user,
                                                    share=form.cleaned_data["share"])
        except HavenError as exc:
            form.add_error("share", exc.message)
        else:
            if progress.unsealed:
                messages.success(request, _("The server is unsealed."))
                return redirect("core:dashboard")
            messages.info(request, _("Share accepted: %(n)d of %(k)d.") % {
                "n": progress.received, "k": progress.threshold})
            return redirect("keyring:unseal")
    status = client.status() or {}
    return render(request, "keyring/unseal.html", {
        "form": form, "sealed": state.is_sealed(), "pending": status.get("pending")})


@allowed_while_sealed
@staff
def sealed(request: HttpRequest) -> HttpResponse:
    return render(request, "keyring/sealed.html", {"sealed": state.is_sealed()})


@allowed_while_sealed
@requires(Perm.KEYS_SEAL)
@require_http_methods(["GET", "POST"])
def seal(request: HttpRequest) -> HttpResponse:
    """"Seal now", asked once more: sealing stops every staff page until enough share holders
    unseal again, so the button leads to a page that says so and seals only when confirmed
    (a form, no JavaScript needed)."""
    if request.method == "POST" and request.POST.get("confirm") == "seal":
        services.seal(actor=request.user)
        messages.warning(request, _("The server is sealed. No key is in memory."))
        return redirect("keyring:unseal")
    status = 400 if request.method == "POST" else 200
    return render(request, "keyring/seal.html", {"sealed": state.is_sealed()}, status=status)
