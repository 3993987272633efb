"""Small pieces of the intake shown on other apps' pages: a case's conversation (on the case
page) and the messages waiting on the cases someone runs (on their start page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from haven.access import policy
from haven.access.permissions import Perm
from haven.intake import selectors

register = template.Library()


@register.inclusion_tag("intake/_case_conversation.html", takes_context=True)
def case_conversation(context: template.Context, case: Any) -> dict[str, Any]:
    """The link from a case to the conversation it came from, with the messages waiting."""
    user = context["request"].user
    req = selectors.case_request(actor=user, case=case)
    if req is None:
        return {"req": None}
    url = (reverse("inbox:detail", args=[req.pk]) if policy.has_perm(user, Perm.REQUEST_READ)
           else reverse("inbox:case_conversation", args=[case.pk]))
    return {"req": req, "url": url, "waiting": selectors.waiting_messages(request=req)}


@register.inclusion_tag("intake/_waiting.html", takes_context=True)
def waiting_messages(context: template.Context) -> dict[str, Any]:
    """How many messages from people wait for an answer on the cases the user runs."""
    return {"waiting": selectors.waiting_on_my_cases(actor=context["request"].user)}
