"""Reading the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.audit.models import AuditEvent, CaseRef
from haven.cases.models import CASE_NUMBER_RE, Case
from haven.core.errors import ValidationFailed


def _actor_id(user: Any, username: str) -> str:
    """The id of the organization's staff member called ``username`` (disabled ones too: the
    log outlives accounts)."""
    found = policy.org_scoped(user, Perm.AUDIT_READ, User.objects.filter(
        username__iexact=username.strip())).values_list("pk", flat=True).first()
    if found is None:
        message = _("No staff member of your organization is called “%(name)s”.") % {
            "name": username.strip()}
        raise ValidationFailed(message, fields={"actor": [message]})
    return str(found)


def _case_id(user: Any, number: str) -> str:
    """The id of the organization's case numbered ``number``. An auditor may not open cases,
    but may name one in the log: a case number is not personal data, and the log already
    holds the case's id."""
    number = number.strip().upper()
    if not CASE_NUMBER_RE.match(number):
        message = _("A case number looks like HV-7K3M-Q9TD.")
        raise ValidationFailed(message, fields={"case": [message]})
    found = policy.org_scoped(user, Perm.AUDIT_READ, Case.objects.filter(
        number=number)).values_list("pk", flat=True).first()
    if found is None:
        message = _("Your organization has no case %(number)s.") % {"number": number}
        raise ValidationFailed(message, fields={"case": [message]})
    return str(found)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def event_list(
    *,
    user: Any,
    action: str = "",
    actor: str = "",
    case: str = "",
    actor_id: str = "",
    object_id: str = "",
    object_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """Events of the user's organization (and organization-less events such as failed logins
    for unknown names), newest first, filtered. Events hold no personal data.

    People filter by name and number: ``actor`` is a username, ``case`` a case number (its
    own events and those of its notes, tasks, people…); an unknown one is refused with a
    message rather than answered with an empty page. ``actor_id`` and ``object_id`` filter by
    the raw ids, for scripts.

    Every list is read in the order of an index, whatever the log's size: a case's events
    from the two history indexes, a staff member's from ``audit_event_actor``, and otherwise
    the organization's events and the organization-less ones as two ranges of
    ``audit_event_org``, merged (an OR of the two would have the database sort the whole
    log of the organization for every page). A case or a staff member is looked up inside the
    user's organization, and their events are that organization's, so those two lists need no
    organization condition of their own.
    """
    if not policy.has_perm(user, Perm.AUDIT_READ):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.order_by()
    arms: list[QuerySet[Any]]
    if case:
        case_id = _case_id(user, case)
        arms = [events.alias(case_ref=CaseRef("data")).filter(
            Q(object_id=case_id, object_type="case") | Q(case_ref=case_id))]
    elif actor:
        arms = [events.filter(actor_id=_actor_id(user, actor))]
    else:
        arms = [events.filter(organization_id=str(user.organization_id)),
                events.filter(organization_id="")]
    conditions: dict[str, Any] = {}
    if action:
        conditions["action__startswith"] = action.strip()
    if actor and case:
        conditions["actor_id"] = _actor_id(user, actor)
    if actor_id:
        conditions["actor_id"] = actor_id
    if object_id:
        conditions["object_id"] = object_id
    if object_type:
        conditions["object_type"] = object_type
    # Whole days in the server's time zone, as a range of the indexed time (not a date
    # computed for every row).
    if since:
        conditions["at__gte"] = _day_start(since)
    if until:
        conditions["at__lt"] = _day_start(until + timedelta(days=1))
    arms = [arm.filter(**conditions) for arm in arms]
    first, *rest = arms
    qs = first.union(*rest, all=True) if rest else first
    return qs.order_by("-seq")


def object_history(*, user: Any, object_type: str, object_id: str) -> QuerySet[AuditEvent]:
    """One record's history, for the record's own page."""
    return event_list(user=user, object_id=object_id, object_type=object_type)


def latest(*, user: Any, limit: int = 10) -> list[AuditEvent]:
    """The newest events of the user's organization, for an auditor's start page."""
    return list(event_list(user=user)[:limit])


def staff_names(*, user: Any) -> list[str]:
    """The usernames of the organization's staff, to pick an actor from in the log's filter."""
    return list(policy.org_scoped(user, Perm.AUDIT_READ, User.objects.all())
                .order_by("username").values_list("username", flat=True)[:500])
