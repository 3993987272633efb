"""Writes of the public side: the intake key, submissions, the codename's one showing,
codename log-ins, sessions, and the person's messages.

Requesters are anonymous (``actor=None`` in the audit log). Everything a requester wrote is
sealed to the organization's intake public key in the calling process, before the database
sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
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
from haven.intake import flood, wordlist
from haven.intake.budget import WINDOW, Refusal, Ticket
from haven.intake.group_commit import GroupCommit, writer_turn
from haven.intake.models import (
    URGENCY_RANK,
    CodenameHandoff,
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
HANDOFF_LIFETIME = timedelta(minutes=10)
PAYLOAD_VERSION = 1
# What a stored request takes on disk beyond its sealed payload: the row, its indexes, its
# audit event and the write-ahead log's copy, rounded up.
ROW_OVERHEAD = 4096


class IntakeClosed(HavenError):
    """No intake key exists yet: the organization has not opened its intake."""

    status = 503
    code = "intake_closed"


class IntakeFull(HavenError):
    """There is no room on disk for another request; nothing was stored. Try again later."""

    status = 503
    code = "intake_full"


class NotAccepted(HavenError):
    """The form token was spent, or its session's budget, by the time the request was to be
    stored (another request of the same session got there first); nothing was stored."""

    status = 409
    code = "not_accepted"

    def __init__(self, message: str, *, refusal: Refusal) -> None:
        super().__init__(message)
        self.refusal = refusal


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
    # The cookie that opens the codename's one showing (``for_page``), else "".
    handoff_cookie: str = ""


@dataclass(frozen=True)
class _Pending:
    """A sealed submission waiting for its transaction (built outside any lock). ``seq`` is
    its form token's sequence number (None: not from the public form, no budget)."""

    request: Request
    request_id: str
    seq: int | None = None
    handoff: CodenameHandoff | None = None


Outcome = Request | Refusal


def _refusal(pending: _Pending, sent: dict[bytes, int], spent: set[bytes]) -> Refusal | None:
    """Why ``pending`` may not be stored now (its session's budget, its token), or None."""
    req = pending.request
    if req.form_tag is not None and bytes(req.form_tag) in spent:
        return Refusal.USED
    if pending.seq is None or req.lineage_tag is None:
        return None
    if sent[bytes(req.lineage_tag)] > pending.seq:
        return Refusal.USED
    if pending.seq >= settings.HAVEN_INTAKE_SESSION_BUDGET:
        return Refusal.OVER_BUDGET
    return None


def _store_submissions(batch: Sequence[_Pending]) -> list[Outcome]:
    """Store a batch of sealed submissions in one transaction, each with its audit event.

    Checked inside the transaction (SQLite takes the write lock at BEGIN), one submission at a
    time in arrival order: the room left on disk (``flood.room``), and for a submission from
    the public form its token — unused, and not overtaken by a later request of the same
    browser session — and that session's day's budget. Those refused get their ``Refusal``
    and store nothing. Each stored request's ``request.received`` event is appended to the
    audit chain in this same transaction, under the id of the HTTP request that sent it.
    Returns after the commit, so every returned request is durable.
    """
    outcomes: list[Outcome] = []
    with transaction.atomic():
        lineages = {bytes(p.request.lineage_tag) for p in batch
                    if p.request.lineage_tag is not None}
        since = timezone.now() - WINDOW
        sent = {tag: Request.objects.filter(lineage_tag=tag, created_at__gte=since).count()
                for tag in lineages}
        tags = [bytes(p.request.form_tag) for p in batch if p.request.form_tag is not None]
        spent = {bytes(t or b"") for t in Request.objects.filter(form_tag__in=tags)
                 .values_list("form_tag", flat=True)} if tags else set()
        room = flood.room()
        stored = []
        for pending in batch:
            req = pending.request
            refusal = _refusal(pending, sent, spent)
            size = len(req.payload) + ROW_OVERHEAD
            if refusal is None and room < size:
                refusal = Refusal.FULL
            if refusal is not None:
                outcomes.append(refusal)
                continue
            room -= size
            if req.lineage_tag is not None:
                sent[bytes(req.lineage_tag)] += 1
            if req.form_tag is not None:
                spent.add(bytes(req.form_tag))
            stored.append(pending)
            outcomes.append(req)
        Request.objects.bulk_create([p.request for p in stored])
        CodenameHandoff.objects.bulk_create([p.handoff for p in stored if p.handoff is not None])
        for pending in stored:
            token = request_context.request_id.set(pending.request_id)
            try:
                record(actor=None, action="request.received", object_type="request",
                       object_id=pending.request.pk, organization_id=pending.request.organization_id,
                       data={"urgency": pending.request.urgency})
            finally:
                request_context.request_id.reset(token)
    return outcomes


_submissions: GroupCommit[_Pending, Outcome] = GroupCommit(_store_submissions, turn=writer_turn)

REFUSED = {
    Refusal.USED: gettext_lazy("This form was already sent. Nothing new was stored."),
    Refusal.OVER_BUDGET: gettext_lazy("This browser has sent as many requests as it may today. "
                                      "Nothing new was stored."),
}


def request_submit(*, intake_key: IntakeKey, contact: str, region: str, story: str,
                   urgency: str, language: str, ticket: Ticket | None = None,
                   for_page: bool = False) -> Submitted:
    """Take a request for help: seal it, store it, and hand back the codename (shown once).

    The codename is never stored; only its lookup tag and reply public key are. ``ticket``
    is the public form's checked token (``budget.check``): its lineage and form tags are
    stored with the request, and the token must still be unspent and within its session's
    budget when the transaction runs (else ``NotAccepted``). Refuses with ``IntakeFull``
    (nothing stored) when the disk has no room left for it. Returns only once the
    transaction holding the request (and its audit event) has committed; with ``for_page``
    that transaction also keeps the codename for its one showing (``codename_handoff_take``)
    and ``handoff_cookie`` is the cookie that opens it. Submissions
    arriving together share that transaction (``group_commit``), but none is acknowledged
    before its own row is durable.
    """
    fields = clean_submission(contact=contact, region=region, story=story, urgency=urgency)
    body = json.dumps({"v": PAYLOAD_VERSION, **fields, "language": language[:8]},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    payload = intake_crypto.seal_to(bytes(intake_key.public_key), body)
    codename = intake_crypto.codename_generate(wordlist.words(language))
    cost = settings.HAVEN_INTAKE_KDF_LOG2_N
    derived = intake_crypto.codename_keys(codename, kdf_params(intake_key, cost))
    req = Request(
        organization_id=intake_key.organization_id, intake_key=intake_key,
        urgency=fields["urgency"], urgency_rank=URGENCY_RANK[Urgency(fields["urgency"])],
        lookup_tag=derived.lookup_tag, kdf_log2_n=cost,
        reply_public_key=derived.reply_public_key, payload=payload,
        lineage_tag=ticket.lineage_tag if ticket else None,
        form_tag=ticket.form_tag if ticket else None,
    )
    handoff, cookie = _handoff(codename, language) if for_page else (None, "")
    stored = _submissions.submit(_Pending(request=req,
                                          request_id=request_context.request_id.get(),
                                          seq=ticket.seq if ticket else None, handoff=handoff))
    if stored == Refusal.FULL:
        raise IntakeFull(_("We are receiving very many requests right now. Nothing was "
                           "stored. Please try again in a few minutes."))
    if isinstance(stored, Refusal):
        raise NotAccepted(str(REFUSED[stored]), refusal=stored)
    return Submitted(request=stored, codename=codename, handoff_cookie=cookie)


# --- the codename's one showing (post/redirect/get) --------------------------------------------


def _handoff(codename: str, language: str) -> tuple[CodenameHandoff, str]:
    """The codename kept for the page that shows it, and the cookie that opens it.

    The row holds the codename sealed under a random key that only the cookie holds (the
    database alone opens nothing; the cookie alone opens nothing once the row is gone), so
    the codename is never in a URL, a log or a cookie in the clear. It is stored in the
    transaction that stores the request.
    """
    cookie, key, lookup = intake_crypto.session_token()
    return CodenameHandoff(lookup=lookup, sealed=intake_crypto.handoff_seal(key, codename, lookup),
                           language=language[:8],
                           expires_at=timezone.now() + HANDOFF_LIFETIME), cookie


def codename_handoff_take(cookie: str) -> str | None:
    """The codename kept for this cookie — once: the row is deleted as it is read. None if
    there is none (already shown, expired, or not ours)."""
    parsed = intake_crypto.session_parse(cookie)
    if parsed is None:
        return None
    lookup, key = parsed
    with transaction.atomic():
        row = (CodenameHandoff.objects.select_for_update()
               .filter(lookup=lookup, expires_at__gt=timezone.now()).first())
        if row is None:
            return None
        CodenameHandoff.objects.filter(lookup=lookup).delete()
    try:
        return intake_crypto.handoff_open(key, bytes(row.sealed), lookup)
    except intake_crypto.IntakeDecryptionFailed:
        return None


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


def add_message(*, request: Request, direction: str, body: str, author: Any = None,
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
        message = add_message(request=req, direction=Direction.IN, body=text)
        previous = req.status
        if req.status == Status.NEEDS_INFO:
            req.status = Status.TRIAGED
        req.awaiting_staff = True
        req.save(update_fields=["status", "awaiting_staff", "updated_at"])
        record(actor=None, action="request.message_received", object_type="request",
               object_id=req.pk, organization_id=req.organization_id,
               data={"message_id": str(message.pk), "from": previous, "to": req.status})
    return message


