"""Writes to the intake: submit, codename log-in, messages both ways, triage, convert, purge.

Requesters are anonymous (``actor=None`` in the audit log); staff actions are checked against
the policy with the request as the object. Everything a requester wrote is sealed to the
organization's intake public key in the calling process, before the database sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from nacl.public import PrivateKey

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.core import request_context
from haven.core.errors import Conflict, HavenError, NotFound, ValidationFailed
from haven.intake import wordlist
from haven.intake.group_commit import GroupCommit, writer_turn
from haven.intake.models import (
    CLOSING_STATUSES,
    TRANSITIONS,
    URGENCY_RANK,
    Direction,
    IntakeKey,
    Message,
    Request,
    RequesterSession,
    Status,
    Urgency,
)
from haven.keyring import intake_crypto

MAX_CONTACT = 300
MAX_REGION = 200
MAX_STORY = 6000
MAX_MESSAGE = 4000
MAX_CODENAME = 300
MAX_MESSAGES_PER_REQUEST = 200
SESSION_IDLE = timedelta(minutes=30)
PAYLOAD_VERSION = 1


class IntakeClosed(HavenError):
    """No intake key exists yet: the organization has not opened its intake."""

    status = 503
    code = "intake_closed"


class IntakeFull(HavenError):
    """The queue of unread requests is full; nothing was stored. Try again later."""

    status = 503
    code = "intake_full"


class WrongCodename(NotFound):
    """A codename that opens nothing; says nothing about why."""


WRONG_CODENAME = gettext_lazy(
    "That codename does not open any conversation. Check the words and their order.")


# --- input rules ----------------------------------------------------------------------------------


# C0 control characters other than tab and line breaks, and DEL. (A regular expression: a
# Python loop over every character of a 6,000-character story cost more than sealing it.)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text_error(value: str, limit: int, *, required: bool) -> str | None:
    if "\ufffd" in value:
        return _("This text could not be read (it was not sent as UTF-8). Please type it again.")
    if _CONTROL.search(value):
        return _("This text contains control characters. Please type it again.")
    if required and not value.strip():
        return _("This field is required.")
    if len(value) > limit:
        return _("At most %(limit)d characters (this has %(count)d).") % {
            "limit": limit, "count": len(value)}
    return None


def clean_submission(*, contact: str, region: str, story: str, urgency: str) -> dict[str, str]:
    """Check the intake form's values; raise ``ValidationFailed`` naming each bad field."""
    errors: dict[str, list[str]] = {}
    for name, value, limit in (("contact", contact, MAX_CONTACT), ("region", region, MAX_REGION),
                               ("story", story, MAX_STORY)):
        problem = _text_error(value, limit, required=True)
        if problem:
            errors[name] = [problem]
    if urgency not in Urgency.values:
        errors["urgency"] = [_("Choose how urgent this is.")]
    if errors:
        raise ValidationFailed(_("Your request was not sent. Please correct the fields marked "
                                 "below."), fields=errors)
    return {"contact": contact.strip(), "region": region.strip(), "story": story.strip(),
            "urgency": urgency}


def clean_message(body: str) -> str:
    problem = _text_error(body, MAX_MESSAGE, required=True)
    if problem:
        raise ValidationFailed(_("The message was not sent: %(problem)s") % {"problem": problem},
                               fields={"body": [problem]})
    return body.strip()


# --- the organization's intake key ------------------------------------------------------------------


def kdf_params(key: IntakeKey, log2_n: int) -> intake_crypto.KdfParams:
    """The scrypt parameters for codenames of ``key`` hashed at cost ``log2_n``."""
    return intake_crypto.KdfParams(salt=bytes(key.kdf_salt), log2_n=log2_n, r=key.kdf_r,
                                   p=key.kdf_p)


def codename_costs(key: IntakeKey) -> list[int]:
    """Every scrypt cost a codename of ``key`` may have been hashed with: the current setting
    and each cost still stored on one of its requests (versioned parameters, docs/intake.md).

    Depends on the key only, never on a codename, so every log-in attempt against one key
    runs the same hashes and takes the same time.
    """
    costs = {settings.HAVEN_INTAKE_KDF_LOG2_N}
    requests = Request.objects.filter(intake_key=key)
    # One index seek per distinct cost (usually one or two) rather than a scan of every row.
    found = requests.aggregate(cost=Min("kdf_log2_n"))["cost"]
    while found is not None:
        costs.add(found)
        found = requests.filter(kdf_log2_n__gt=found).aggregate(cost=Min("kdf_log2_n"))["cost"]
    return sorted(costs)


def intake_key_create(*, actor: Any, organization: Any) -> IntakeKey:
    """Open an organization's intake: make its key pair and codename salt.

    Needs an unsealed server (the private key's seed is a keyring data key). ``actor=None``
    is the command line. Refuses a second key: requests sealed to the first would be lost.
    """
    if actor is not None:
        policy.require(actor, Perm.KEYS_ROTATE, organization)
    if IntakeKey.objects.filter(organization=organization).exists():
        raise Conflict("This organization's intake is already open (it has an intake key).")
    with transaction.atomic():
        key = IntakeKey(organization=organization, kdf_salt=intake_crypto.new_salt(),
                        kdf_log2_n=settings.HAVEN_INTAKE_KDF_LOG2_N)
        key.public_key = intake_crypto.org_keypair_create(key)
        key.save()
        record(actor=actor, action="intake_key.created", object_type="intake_key",
               object_id=key.pk, organization_id=organization.pk,
               data={"kdf_log2_n": key.kdf_log2_n})
    return key


# --- requesters (anonymous) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    request: Request
    codename: str


@dataclass(frozen=True)
class _Pending:
    """A sealed submission waiting for its transaction (built outside any lock)."""

    request: Request
    request_id: str


def _store_submissions(batch: Sequence[_Pending]) -> list[Request | None]:
    """Store a batch of sealed submissions in one transaction, each with its audit event.

    The unread-queue bound is checked inside the transaction (SQLite takes the write lock at
    BEGIN), one submission at a time in arrival order: those past the bound get ``None``
    and store nothing. Each stored request's ``request.received`` event is appended to the
    audit chain in this same transaction, under the id of the HTTP request that sent it.
    Returns after the commit, so every returned request is durable.
    """
    outcomes: list[Request | None] = []
    with transaction.atomic():
        org_ids = {p.request.organization_id for p in batch}
        room = {org_id: settings.HAVEN_INTAKE_MAX_PENDING - Request.objects.filter(
            organization_id=org_id, status=Status.NEW).count() for org_id in org_ids}
        stored = []
        for pending in batch:
            org_id = pending.request.organization_id
            if room[org_id] <= 0:
                outcomes.append(None)
                continue
            room[org_id] -= 1
            stored.append(pending)
            outcomes.append(pending.request)
        Request.objects.bulk_create([p.request for p in stored])
        for pending in stored:
            token = request_context.request_id.set(pending.request_id)
            try:
                record(actor=None, action="request.received", object_type="request",
                       object_id=pending.request.pk, organization_id=pending.request.organization_id,
                       data={"urgency": pending.request.urgency})
            finally:
                request_context.request_id.reset(token)
    return outcomes


_submissions: GroupCommit[_Pending, Request | None] = GroupCommit(_store_submissions,
                                                                 turn=writer_turn)


def request_submit(*, intake_key: IntakeKey, contact: str, region: str, story: str,
                   urgency: str, language: str) -> Submitted:
    """Take a request for help: seal it, store it, and hand back the codename (shown once).

    The codename is never stored; only its lookup tag and reply public key are. Refuses with
    ``IntakeFull`` (nothing stored) when the queue of unread requests is at its bound, so a
    flood cannot fill the disk. Returns only once the transaction holding the request (and
    its audit event) has committed: submissions arriving together share that transaction
    (``group_commit``), but none is acknowledged before its own row is durable.
    """
    fields = clean_submission(contact=contact, region=region, story=story, urgency=urgency)
    body = json.dumps({"v": PAYLOAD_VERSION, **fields, "language": language[:8]},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    payload = intake_crypto.seal_to(bytes(intake_key.public_key), body)
    codename = intake_crypto.codename_generate(wordlist.words())
    cost = settings.HAVEN_INTAKE_KDF_LOG2_N
    derived = intake_crypto.codename_keys(codename, kdf_params(intake_key, cost))
    req = Request(
        organization_id=intake_key.organization_id, intake_key=intake_key,
        urgency=fields["urgency"], urgency_rank=URGENCY_RANK[Urgency(fields["urgency"])],
        lookup_tag=derived.lookup_tag, kdf_log2_n=cost,
        reply_public_key=derived.reply_public_key, payload=payload,
    )
    stored = _submissions.submit(_Pending(request=req,
                                          request_id=request_context.request_id.get()))
    if stored is None:
        raise IntakeFull(_("We are receiving very many requests right now. Nothing was "
                           "stored. Please try again in a few minutes."))
    return Submitted(request=stored, codename=codename)


def requester_login(*, intake_key: IntakeKey, codename: str) -> tuple[Request, PrivateKey]:
    """Find the request a codename belongs to, and derive its reply private key.

    Always runs the slow hash at every cost in use for this key (even for nonsense input of
    a sane length) and answers a wrong, purged or malformed codename the same way, so a guess
    learns nothing — neither from the answer nor from how long it took.
    """
    normalized = intake_crypto.codename_normalize(codename[: MAX_CODENAME * 2])
    if not normalized or len(normalized) > MAX_CODENAME:
        raise WrongCodename(str(WRONG_CODENAME))
    derived = {cost: intake_crypto.codename_keys(normalized, kdf_params(intake_key, cost))
               for cost in codename_costs(intake_key)}
    by_tag = {d.lookup_tag: (cost, d) for cost, d in derived.items()}
    req = Request.objects.filter(intake_key=intake_key, lookup_tag__in=list(by_tag)).first()
    if req is None:
        raise WrongCodename(str(WRONG_CODENAME))
    cost, found = by_tag[bytes(req.lookup_tag)]
    if req.kdf_log2_n != cost or bytes(req.reply_public_key) != found.reply_public_key:
        raise WrongCodename(str(WRONG_CODENAME))
    return req, found.reply_private_key


def requester_session_open(*, request: Request, reply_key: PrivateKey) -> str:
    """Start a codename session; returns the cookie value (a random id and key, no codename)."""
    cookie, key, lookup = intake_crypto.session_token()
    RequesterSession.objects.create(
        lookup=lookup, request=request,
        sealed_key=intake_crypto.session_seal(key, bytes(reply_key), lookup),
        expires_at=timezone.now() + SESSION_IDLE,
    )
    return cookie


def requester_session_get(cookie: str) -> tuple[Request, PrivateKey] | None:
    """The request and reply key of a live session cookie, or None; slides the idle timeout."""
    parsed = intake_crypto.session_parse(cookie)
    if parsed is None:
        return None
    lookup, key = parsed
    now = timezone.now()
    session = (RequesterSession.objects.select_related("request", "request__intake_key")
               .filter(lookup=lookup, expires_at__gt=now).first())
    if session is None:
        return None
    try:
        raw = intake_crypto.session_open(key, bytes(session.sealed_key), lookup)
    except intake_crypto.IntakeDecryptionFailed:
        return None
    if session.expires_at - now < SESSION_IDLE - timedelta(minutes=1):
        RequesterSession.objects.filter(lookup=lookup).update(expires_at=now + SESSION_IDLE)
    return session.request, intake_crypto.reply_private_key_from_bytes(raw)


def requester_session_close(cookie: str) -> None:
    parsed = intake_crypto.session_parse(cookie)
    if parsed is not None:
        RequesterSession.objects.filter(lookup=parsed[0]).delete()


def _add_message(*, request: Request, direction: str, body: str, author: Any = None,
                 asks_for_info: bool = False) -> Message:
    if Message.objects.filter(request=request).count() >= MAX_MESSAGES_PER_REQUEST:
        raise Conflict(_("This conversation has reached its limit of messages."))
    raw = body.encode("utf-8")
    return Message.objects.create(
        request=request, direction=direction, author=author, asks_for_info=asks_for_info,
        for_org=intake_crypto.seal_to(bytes(request.intake_key.public_key), raw),
        for_requester=intake_crypto.seal_to(bytes(request.reply_public_key), raw),
    )


def requester_message_send(*, request: Request, body: str) -> Message:
    """A message from the person (logged in with their codename). Answers a request for
    information: a request waiting for the person goes back to the inbox as triaged."""
    text = clean_message(body)
    with transaction.atomic():
        req = Request.objects.select_for_update().select_related("intake_key").get(pk=request.pk)
        message = _add_message(request=req, direction=Direction.IN, body=text)
        previous = req.status
        if req.status == Status.NEEDS_INFO:
            req.status = Status.TRIAGED
        req.awaiting_staff = True
        req.save(update_fields=["status", "awaiting_staff", "updated_at"])
        record(actor=None, action="request.message_received", object_type="request",
               object_id=req.pk, organization_id=req.organization_id,
               data={"message_id": str(message.pk), "from": previous, "to": req.status})
    return message


# --- staff ----------------------------------------------------------------------------------------

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
    """
    policy.require(actor, Perm.REQUEST_REPLY, request)
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
        message = _add_message(request=req, direction=Direction.OUT, body=text, author=actor,
                               asks_for_info=ask_for_info)
        req.awaiting_staff = False
        req.save(update_fields=["status", "awaiting_staff", "updated_at"])
        record(actor=actor, action="request.replied", object_type="request", object_id=req.pk,
               data={"message_id": str(message.pk), "asks_for_info": ask_for_info,
                     "from": previous, "to": req.status})
    return message


def request_transition(*, actor: Any, request: Request, to: str) -> Request:
    """Move a request along its lifecycle; every transition not in ``TRANSITIONS`` is refused
    with a message and nothing changes. Acceptance goes through ``request_convert``."""
    policy.require(actor, Perm.REQUEST_TRIAGE, request)
    if to not in Status.values:
        raise ValidationFailed(_("Unknown status."), fields={"to": [_("Unknown status.")]})
    if to == Status.ACCEPTED:
        raise Conflict(_("A request is accepted by converting it into a case."))
    with transaction.atomic():
        req = Request.objects.select_for_update().get(pk=request.pk)
        previous = req.status
        if to not in TRANSITIONS[previous]:
            raise _refuse_transition(previous, to)
        req.status = to
        if to in (*CLOSING_STATUSES, Status.REFERRED):
            req.closed_at = timezone.now()
            req.awaiting_staff = False
        req.save(update_fields=["status", "closed_at", "awaiting_staff", "updated_at"])
        record(actor=actor, action="request.transitioned", object_type="request",
               object_id=req.pk, data={"from": previous, "to": to})
    return req


def request_convert(*, actor: Any, request: Request, legal_name: str, other_names: str = "",
                    phone: str = "") -> Request:
    """Accept a request as a case: create the person (prefilled by the operator from the
    request), link the conversation to them, and close the request as accepted.

    The ``Case`` record arrives with the cases issue; until then the link is ``person_id``.
    """
    policy.require(actor, Perm.REQUEST_TRIAGE, request)
    policy.require(actor, Perm.PERSON_CREATE, request)
    from haven.people.services import person_create

    with transaction.atomic():
        req = Request.objects.select_for_update().get(pk=request.pk)
        previous = req.status
        if Status.ACCEPTED not in TRANSITIONS[previous]:
            raise _refuse_transition(previous, Status.ACCEPTED)
        person = person_create(actor=actor, legal_name=legal_name, other_names=other_names,
                               phone=phone)
        req.status = Status.ACCEPTED
        req.person_id = person.pk
        req.closed_at = timezone.now()
        req.awaiting_staff = False
        req.save(update_fields=["status", "person_id", "closed_at", "awaiting_staff",
                                "updated_at"])
        record(actor=actor, action="request.converted", object_type="request", object_id=req.pk,
               data={"from": previous, "to": Status.ACCEPTED, "person_id": str(person.pk)})
    return req


def request_purge(*, now: datetime | None = None) -> int:
    """Destroy declined, spam and duplicate requests closed longer ago than the retention
    period, with their messages (SQLite's secure_delete overwrites the freed pages), and
    forget expired requester sessions. Returns how many requests were destroyed."""
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
    return destroyed
