"""Helpers shared by the case services: validation of choices and lengths, locking."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from django.utils.translation import gettext as _

from haven.access.roles import Role
from haven.core.errors import Stale, ValidationFailed
from haven.keyring import keys


class Keep(Enum):
    """Default of an update service's optional arguments: "leave this field as it is", so that
    ``None`` can still mean "clear it" (no due date, nobody assigned)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def choice(value: str, choices: Any, field: str) -> str:
    """``value`` if it is one of ``choices.values``; else a field error naming the options."""
    if value not in choices.values:
        raise ValidationFailed(
            _("Not a valid choice."),
            fields={field: [_("Choose one of: %(options)s.") % {
                "options": ", ".join(str(v) for v in choices.values)}]},
        )
    return value


def text(value: str, field: str, *, maximum: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("A required field is empty."),
                               fields={field: [_("This field is required.")]})
    if len(value) > maximum:
        raise ValidationFailed(_("A field is too long."),
                               fields={field: [_("At most %(n)d characters.") % {"n": maximum}]})
    return value


def subset(values: Iterable[str], choices: Any, field: str) -> str:
    """A comma-joined list of distinct known choices, in the choices' order."""
    wanted = {v for v in values if v}
    unknown = wanted - set(choices.values)
    if unknown:
        raise ValidationFailed(_("Not a valid choice."),
                               fields={field: [_("Unknown: %(v)s.") % {
                                   "v": ", ".join(sorted(unknown))}]})
    return ",".join(v for v in choices.values if v in wanted)


def check_version(current: int, expected: int | None, what: str) -> None:
    """Refuse a save made on top of an older ``version`` than the record's ``current`` one.

    ``expected`` None means the caller did not say which version it edited (a script that
    sends only what it changes): the save goes through.
    """
    if expected is not None and expected != current:
        raise Stale(_("%(what)s was changed by someone else after you opened it. Their "
                      "version is shown below: compare, then save again to keep yours.")
                    % {"what": what}, current=current)


def staff_member(user: Any, organization_id: Any, roles: Iterable[Role], field: str) -> Any:
    """``user`` if an active member of the organization with one of ``roles``; else an error."""
    if (user is None or not getattr(user, "is_active", False)
            or user.organization_id != organization_id or user.role not in set(roles)):
        raise ValidationFailed(_("Choose an active colleague with a suitable role."),
                               fields={field: [_("Not an active colleague with a suitable role.")]})
    return user


def share_key(source: Any, *targets: Any) -> None:
    """Give records sealed under ``source``'s data key that key, saving an unwrap per record."""
    key = keys.data_key_for(source)
    for target in targets:
        setattr(target, keys.DK_ATTR, key)
