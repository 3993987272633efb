"""Budgets that keep one client's flood from closing the public form — without JavaScript,
without a third party, and without judging anyone by their address (Tor users share one).

- **A visitor cookie** (``haven_visit``: a random id, HttpOnly, for this browser session only)
  marks one browser session. What is stored of it is only its *lineage tag*, a keyed hash
  (``intake_crypto.lineage_tag``) on each request it sent: it names no one.
- **A form token** comes with every GET of the form: issue time, the session's sequence
  number (how many requests it sent in the last day), a nonce, and a MAC that binds them to
  the cookie. It is good for **one** request (its keyed *form tag* is stored, unique), and
  only once it is old enough: a person takes many seconds to write, a bot has to wait.
- **The wait grows** for each further request of the same session (×4: 5 s, 20 s, 80 s,
  5 min, 21 min with the default), and a session sends at most
  ``HAVEN_INTAKE_SESSION_BUDGET`` requests a day. A token issued before the session's last
  request was accepted is spent (its sequence number is behind).
- **The delay is served by the client, not the server**: a token that is too young is
  refused at once, before any database access, sealing or slow hash, and the form comes back
  with the person's text. Sleeping in the server instead would hold one of its few workers
  per waiting client — the flood would then close the site by itself.

These checks are cheap on purpose: a refused POST costs a MAC and, at most, one index count.
The unread queue is bounded by disk space (``flood.room``), not by a count a flood can reach.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from haven.intake.models import Request
from haven.keyring import intake_crypto

VISIT_COOKIE = "haven_visit"
GROWTH = 4
WINDOW = timedelta(days=1)
TOKEN_LIFETIME = 12 * 3600


class Refusal(StrEnum):
    EXPIRED = "expired"  # no cookie, a token not ours or too old: the form again, text kept
    TOO_EARLY = "too_early"  # sent before the token's wait: the form again, same token
    USED = "used"  # this form (or a later one of the session) was already sent
    OVER_BUDGET = "over_budget"  # the session sent its day's budget
    FULL = "full"  # the disk (or the database's cap) has no room


@dataclass(frozen=True)
class Ticket:
    """A form token that passed every check that needs no write: the visitor's lineage and
    the token's sequence number and nonce. ``request_submit`` stores its tags and checks the
    sequence again inside the transaction."""

    visit: str
    seq: int
    nonce: str

    @property
    def lineage_tag(self) -> bytes:
        return intake_crypto.lineage_tag(self.visit)

    @property
    def form_tag(self) -> bytes:
        return intake_crypto.form_tag(self.nonce)


@dataclass(frozen=True)
class Checked:
    ticket: Ticket | None
    refusal: Refusal | None = None
    wait: int = 0  # seconds still to wait (TOO_EARLY)


def wait_seconds(seq: int) -> int:
    """How old a form token must be before it may be sent: the session's ``seq``-th request
    waits ``HAVEN_INTAKE_MIN_FILL_SECONDS`` × 4^seq (at most a day)."""
    return int(min(settings.HAVEN_INTAKE_MIN_FILL_SECONDS * GROWTH ** min(seq, 20),
                   WINDOW.total_seconds()))


def sent_recently(lineage_tag: bytes) -> int:
    """Requests the session with this lineage sent in the last day (an index count)."""
    since = timezone.now() - WINDOW
    return Request.objects.filter(lineage_tag=lineage_tag, created_at__gte=since).count()


def visit_of(cookies: dict[str, str]) -> str | None:
    visit = cookies.get(VISIT_COOKIE, "")
    return visit if intake_crypto.visit_valid(visit) else None


@dataclass(frozen=True)
class Issued:
    visit: str
    token: str
    seq: int
    new_visit: bool

    @property
    def over_budget(self) -> bool:
        return self.seq >= settings.HAVEN_INTAKE_SESSION_BUDGET


def issue(visit: str | None, *, now: float | None = None) -> Issued:
    """A form token for this browser session (a new session if it has none)."""
    new = visit is None
    visit = visit or intake_crypto.visit_new()
    seq = 0 if new else sent_recently(intake_crypto.lineage_tag(visit))
    issued = int(time.time() if now is None else now)
    return Issued(visit=visit, token=intake_crypto.form_token_make(visit=visit, issued=issued,
                                                                   seq=seq),
                  seq=seq, new_visit=new)


def check(token: str, visit: str | None, *, now: float | None = None) -> Checked:
    """Is this POST's form token good to send now? Cheapest checks first: the MAC and the
    token's age need nothing but arithmetic, so a flood of early or forged tokens never
    reaches the database."""
    if visit is None:
        return Checked(None, Refusal.EXPIRED)
    found = intake_crypto.form_token_read(token, visit=visit)
    if found is None:
        return Checked(None, Refusal.EXPIRED)
    age = int(time.time() if now is None else now) - found.issued
    if age > TOKEN_LIFETIME or age < -60:
        return Checked(None, Refusal.EXPIRED)
    wait = wait_seconds(found.seq) - age
    if wait > 0:
        return Checked(None, Refusal.TOO_EARLY, wait=wait)
    if found.seq >= settings.HAVEN_INTAKE_SESSION_BUDGET:
        return Checked(None, Refusal.OVER_BUDGET)
    ticket = Ticket(visit=visit, seq=found.seq, nonce=found.nonce)
    if sent_recently(ticket.lineage_tag) > found.seq:
        return Checked(None, Refusal.USED)
    return Checked(ticket)
