"""Writes of the staff side: replies, triage, accepting a request as a case, purging.

Every service checks the policy with the request as the object and records its audit event
(ids and states only) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases import services as case_services
from haven.cases.models import Case
from haven.core.errors import Conflict, ValidationFailed
from haven.intake import selectors
from haven.intake.models import (
    CLOSING_STATUSES,
    TRANSITIONS,
    CodenameHandoff,
    Direction,
    Message,
    Request,
    RequesterSession,
    Status,
    Urgency,
)
from haven.intake.services.submit import add_message, clean_message

NO_REPLY_STATUSES = (Status.SPAM, Status.DUPLICATE, Status.SUSPICIOUS)


def _refuse_transition(current: str, to: str) -> Conflict:
    allowed = ", ".join(str(Status(s).label) for s in TRANSITIONS[current]) or _("none")
    return Conflict(
        _("A request that is “%(current)s” cannot become “%(to)s”; nothing was changed. "
          "Allowed next: %(allowed)s.") % {
            "current": Status(current).label, "to": Status(to).label, "allowed": allowed})


def request_reply(*, actor: Any, request: Request, body: str, ask_for_info: bool = False
                  ) -> Message:
    """Send a reply the person can read only with their codename (sealed to their reply key).

    Replying to a new request triages it; asking for information moves it to "needs
    information" until the person answers. Suspected, spam and duplicate requests get none.
    Once a request has become a case, its caseworker answers too (``policy.require_request``).
    """
    policy.require_request(actor, Perm.REQUEST_REPLY, request)
    text = clean_message(body)
    with transaction.atomic():
        req = Request.objects.select_for_update().select_related("intake_key").get(pk=request.pk)
        previous = req.status
        if req.status in NO_REPLY_STATUSES:
            raise Conflict(_("No reply is sent to a request marked “%(status)s”.") % {
                "status": Status(req.status).label})
        if req.status == Status.NEW:
            req.status = Status.TRIAGED
        if ask_for_info:
            if req.status != Status.NEEDS_INFO and Status.NEEDS_INFO not in TRANSITIONS[req.status]:
                raise _refuse_transition(req.status, Status.NEEDS_INFO)
            req.status = Status.NEEDS_INFO
        message = add_message(request=req, direction=Direction.OUT, body=text, author=actor,
                              asks_for_info=ask_for_info)
        req.awaiting_staff = False
        req.save(update_fields=["status", "awaiting_staff", "updated_at"])
        record(actor=actor, action="request.replied", object_type="request", object_id=req.pk,
               data={"message_id": str(message.pk), "asks_for_info": ask_for_info,
                     "from": previous, "to": req.status})
    return message


def close_locked(*, actor: Any, req: Request, to: str, data: dict[str, Any] | None = None
                 ) -> None:
    """Move a locked request to ``to`` (checked against ``TRANSITIONS``) and record it, in the
    caller's transaction. The one place a request's status changes by a staff decision."""
    previous = req.status
    if to not in TRANSITIONS[previous]:
        raise _refuse_transition(previous, to)
    req.status = to
    if to in (*CLOSING_STATUSES, Status.REFERRED):
        req.closed_at = timezone.now()
        req.awaiting_staff = False
    req.save(update_fields=["status", "closed_at", "awaiting_staff", "updated_at"])
    record(actor=actor, action="request.transitioned", object_type="request",
           object_id=req.pk, data={"from": previous, "to": to, **(data or {})})


def request_transition(*, actor: Any, request: Request, to: str) -> Request:
    """Move a request along its lifecycle; every transition not in ``TRANSITIONS`` is refused
    with a message and nothing changes. Acceptance goes through ``request_accept``."""
    policy.require(actor, Perm.REQUEST_TRIAGE, request)
    if to not in Status.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    if to == Status.ACCEPTED:
        raise Conflict(_("A request is accepted by converting it into a case."))
    with transaction.atomic():
        req = Request.objects.select_for_update().get(pk=request.pk)
        close_locked(actor=actor, req=req, to=to)
    return req


# --- accepting a request as a case ----------------------------------------------------------------

URGENCY_PRIORITY = {Urgency.NOW: "emergency", Urgency.DAYS: "urgent", Urgency.WEEKS: "normal",
                    Urgency.UNSURE: "normal"}


@dataclass(frozen=True)
class Accepted:
    request: Request
    case: Any
    created: bool  # a new case (False: linked to one that existed)


def _language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name"])
    except KeyError:
        return code


def request_accept(*, actor: Any, request: Request, legal_name: str = "", other_names: str = "",
                   phone: str = "", link_case: Any = None) -> Accepted:
    """Accept a request as a case in one step, from any open status.

    Without ``link_case``: opens a case (``cases.services.case_open``) whose new principal
    gets the legal name, other names and phone the operator typed, and whose profile gets
    what the request said — story, safe contact, coarse place, the site's language — under
    the person's own data key; the case's priority follows the request's urgency. With
    ``link_case`` (a likely existing case of the same person, proposed by
    ``selectors.likely_existing``): no second person is made; the request's words are added
    to that case as a note. Either way the conversation is linked to the case both ways
    (``Request.case``; the case page links back), so later messages reach its caseworker.
    Needs an unsealed server: the request is decrypted in memory to carry it over.
    """
    policy.require(actor, Perm.REQUEST_TRIAGE, request)
    if link_case is None:
        policy.require(actor, Perm.CASE_CREATE, actor.organization)
    else:
        policy.require(actor, Perm.NOTE_CREATE, link_case)
    payload = selectors.payload_open(request)
    with transaction.atomic():
        req = Request.objects.select_for_update().get(pk=request.pk)
        previous = req.status
        if Status.ACCEPTED not in TRANSITIONS[previous]:
            raise _refuse_transition(previous, Status.ACCEPTED)
        if link_case is None:
            case = case_services.case_open(
                actor=actor, legal_name=legal_name, other_names=other_names, phone=phone,
                priority=URGENCY_PRIORITY[Urgency(req.urgency)],
                profile={"story": payload.story, "contact_handle": payload.contact,
                         "coarse_location": payload.region,
                         "languages": _language_name(payload.language)})
        else:
            case = Case.objects.select_for_update().get(pk=link_case.pk)
            if Request.objects.filter(case=case).exists():
                raise Conflict(_("That case already has a conversation from the intake; "
                                 "nothing was changed."))
            case_services.note_add(actor=actor, case=case, body=_(
                "From the intake request of %(date)s (urgency: %(urgency)s; safe contact: "
                "%(contact)s; place: %(region)s):\n\n%(story)s") % {
                    "date": req.created_at.strftime("%Y-%m-%d"),
                    "urgency": Urgency(req.urgency).label, "contact": payload.contact,
                    "region": payload.region, "story": payload.story})
        principal = case.members.filter(is_principal=True).values_list("person_id",
                                                                       flat=True).first()
        req.status = Status.ACCEPTED
        req.case = case
        req.person_id = principal
        req.closed_at = timezone.now()
        req.awaiting_staff = False
        req.save(update_fields=["status", "case", "person_id", "closed_at", "awaiting_staff",
                                "updated_at"])
        record(actor=actor, action="request.converted", object_type="request", object_id=req.pk,
               data={"from": previous, "to": Status.ACCEPTED, "case_id": str(case.pk),
                     "person_id": str(principal or ""), "linked": link_case is not None})
    return Accepted(request=req, case=case, created=link_case is None)


def request_purge(*, now: datetime | None = None) -> int:
    """Destroy declined, spam and duplicate requests closed longer ago than the retention
    period, with their messages (SQLite's secure_delete overwrites the freed pages), and
    forget expired requester sessions and codenames never shown. Returns how many requests
    were destroyed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.HAVEN_INTAKE_RETENTION_DAYS)
    destroyed = 0
    while True:
        batch = list(Request.objects.filter(status__in=(Status.DECLINED, Status.SPAM,
                                                        Status.DUPLICATE),
                                            closed_at__lt=cutoff)
                     .values_list("pk", "organization_id", "status")[:500])
        if not batch:
            break
        with transaction.atomic():
            ids = [pk for pk, _org, _status in batch]
            RequesterSession.objects.filter(request_id__in=ids).delete()
            Request.objects.filter(pk__in=ids).delete()
            for pk, org_id, status in batch:
                record(actor=None, action="request.purged", object_type="request", object_id=pk,
                       organization_id=org_id, data={"status": status})
        destroyed += len(batch)
    RequesterSession.objects.filter(expires_at__lte=now).delete()
    CodenameHandoff.objects.filter(expires_at__lte=now).delete()
    return destroyed
