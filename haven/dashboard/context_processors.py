"""What every staff page's frame needs: the navigation the user's role allows."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.services import second_factor_passed

# (URL name, label, the permission it needs, a permission that makes it redundant): one
# start page for every role, and the read-only staff list only for those who cannot manage
# accounts (who have the full list under "Users").
NAV: list[tuple[str, Any, Perm | None, Perm | None]] = [
    ("core:dashboard", _("My work"), None, None),
    ("inbox:list", _("Inbox"), Perm.REQUEST_READ, None),
    ("cases:list", _("Cases"), Perm.CASE_READ, None),
    ("shelters:board", _("Shelters"), Perm.SHELTER_READ, None),
    ("pathways:list", _("Pathways"), Perm.PATHWAY_READ, None),
    ("pathways:outcomes", _("Outcomes"), Perm.OUTCOMES_READ, None),
    ("people:list", _("People"), Perm.PERSON_READ, None),
    ("audit:list", _("Audit log"), Perm.AUDIT_READ, None),
    ("accounts:staff_list", _("Staff"), Perm.STAFF_LIST, Perm.ACCOUNT_MANAGE),
    ("accounts:user_list", _("Users"), Perm.ACCOUNT_MANAGE, None),
    ("keyring:unseal", _("Keys"), Perm.KEYS_UNSEAL, None),
]


def haven(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    verified = user is not None and second_factor_passed(user)
    nav = []
    if verified:
        for name, label, perm, unless in NAV:
            if perm is not None and not policy.has_perm(user, perm):
                continue
            if unless is not None and policy.has_perm(user, unless):
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            nav.append({"url": url, "label": label,
                        "active": request.path == url or (url != "/" and request.path.startswith(url))})
    # One entry is active: the longest match (/pathways/outcomes/ is Outcomes, not Pathways).
    matches = [item for item in nav if item["active"]]
    for item in matches:
        item["active"] = item is max(matches, key=lambda m: len(m["url"]))
    return {"nav": nav, "staff_verified": verified}
