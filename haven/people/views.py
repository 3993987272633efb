"""The duplicate review queue page, mounted at /people/."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.core.errors import HavenError, NotFound
from haven.keyring import keys
from haven.people import duplicate_selectors, duplicates, name_index
from haven.people.models import DuplicatePair, PairState, Person

FIELDS = {"name": gettext_lazy("name"), "dob": gettext_lazy("date of birth"),
          "phone": gettext_lazy("phone"), "place": gettext_lazy("place")}
LEVELS = {"exact": gettext_lazy("same spelling"), "likely": gettext_lazy("likely the same"),
          "possible": gettext_lazy("similar"), "none": gettext_lazy("different"),
          "same": gettext_lazy("the same"), "partial": gettext_lazy("the same as far as both go"),
          "swapped": gettext_lazy("day and month swapped"),
          "year_off": gettext_lazy("one year apart"), "different": gettext_lazy("different")}


def _in_words(fields: list[dict[str, Any]]) -> list[str]:
    """Each field's part of the weight in words: "phone: the same (+12.4)"."""
    return [_("%(field)s: %(level)s (%(weight)+.1f)") % {
        "field": FIELDS.get(f["field"], f["field"]), "level": LEVELS.get(f["level"], f["level"]),
        "weight": f["weight"]} for f in fields]


def _names(user: Any, pairs: list[DuplicatePair]) -> dict[Any, str]:
    """The names of the page's people for a reviewer who may reveal them (one agent call)."""
    people = {p.pk: p for pair in pairs for p in (pair.first, pair.second)}
    if not policy.has_perm(user, Perm.PERSON_REVEAL):
        return {}
    readable = [p for p in keys.readable(list(people.values())) if isinstance(p, Person)]
    return {p.pk: " / ".join(name_index.person_names(p)) for p in readable}


@requires(Perm.CASE_SUPERVISE)
@require_GET
@reauth_required  # it shows the decrypted names of both people, like a reveal
def duplicate_queue(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", PairState.OPEN)
    if state not in PairState.values:
        state = PairState.OPEN
    pairs = duplicate_selectors.duplicates_visible(request.user, state, limit=100)
    names = _names(request.user, pairs)
    rows = [{"pair": p, "first": names.get(p.first_id, str(p.first)),
             "second": names.get(p.second_id, str(p.second)), "why": _in_words(p.fields)}
            for p in pairs]
    return render(request, "people/duplicates.html", {"rows": rows, "state": state})


def _pair(request: HttpRequest, pair_id: UUID) -> DuplicatePair:
    try:
        return duplicate_selectors.duplicate_get(request.user, pair_id)
    except NotFound:
        raise Http404 from None


@requires(Perm.CASE_SUPERVISE)
@require_POST
def duplicate_decide(request: HttpRequest, pair_id: UUID) -> HttpResponse:
    pair = _pair(request, pair_id)
    keep = {str(pair.first_id): pair.first, str(pair.second_id): pair.second}.get(
        request.POST.get("keep", ""))
    try:
        duplicates.duplicate_decide(actor=request.user, pair=pair,
                                    decision=request.POST.get("decision", ""), keep=keep)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Decision recorded. Nothing was deleted; it can be undone."))
    return HttpResponseRedirect(reverse("people:duplicates"))


@requires(Perm.CASE_SUPERVISE)
@require_POST
def duplicate_undo(request: HttpRequest, pair_id: UUID) -> HttpResponse:
    pair = _pair(request, pair_id)
    try:
        duplicates.duplicate_undo(actor=request.user, pair=pair)
    except HavenError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Decision undone: the pair is open again."))
    return HttpResponseRedirect(reverse("people:duplicates"))
