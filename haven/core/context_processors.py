"""What every staff page's frame needs: the navigation the user's role allows."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.services import second_factor_passed

NAV: list[tuple[str, Any, Perm | None]] = [
    ("core:dashboard", _("Dashboard"), None),
    ("cases:dashboard", _("My work"), Perm.CASE_READ),
    ("inbox:list", _("Inbox"), Perm.REQUEST_READ),
    ("cases:list", _("Cases"), Perm.CASE_READ),
    ("shelters:board", _("Shelters"), Perm.SHELTER_READ),
    ("pathways:list", _("Pathways"), Perm.PATHWAY_READ),
    ("pathways:outcomes", _("Outcomes"), Perm.OUTCOMES_READ),
    ("people:list", _("People"), Perm.PERSON_READ),
    ("audit:list", _("Audit log"), Perm.AUDIT_READ),
    ("accounts:user_list", _("Users"), Perm.ACCOUNT_MANAGE),
    ("keyring:unseal", _("Keys"), Perm.KEYS_UNSEAL),
]


def haven(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    verified = user is not None and second_factor_passed(user)
    nav = []
    if verified:
        from django.urls import NoReverseMatch, reverse

        for name, label, perm in NAV:
            if perm is not None and not policy.has_perm(user, perm):
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
