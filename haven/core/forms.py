"""Showing a service's refusal on a form."""

from __future__ import annotations

from typing import Any

from django import forms

from haven.core.errors import HavenError


def apply_error(form: forms.Form, exc: HavenError) -> None:
    """Put a HavenError's field errors on their fields and its message at the top."""
    placed = False
    for field, messages in exc.fields.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed or not exc.fields:
        form.add_error(None, exc.message)


def own_ids(context: dict[str, Any]) -> dict[str, Any]:
    """Give every form of a page with several forms ids of its own (``assign_assignee``, not
    ``id_assignee`` twice): each ``NAME_form`` in ``context`` gets ``auto_id`` ``NAME_%s``.
    Field names, and so what is posted, do not change. Duplicate ids break labels and
    ``aria-describedby`` for screen readers (WCAG 4.1.1, 1.3.1)."""
    for key, value in context.items():
        if key.endswith("_form") and isinstance(value, forms.BaseForm):
            value.auto_id = key.removesuffix("_form") + "_%s"
    return context
