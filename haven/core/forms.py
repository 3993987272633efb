"""Showing a service's refusal on a form."""

from __future__ import annotations

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
