"""Form rendering that a screen reader can follow (issue 16): ids for the error summary and
for each field's help and error, the first input of a group to link to, and the page title's
"Error:" when a form on the page was sent back."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BaseForm, BoundField
from django.utils.translation import gettext as _

register = template.Library()

_AUTOFOCUS_TAKEN = "_haven_error_summary_autofocus"


@register.filter
def dom_id(form: BaseForm, name: str) -> str:
    """An element id in the form's own id space (its ``auto_id``), so two forms on one page
    never share an id."""
    auto_id = form.auto_id if isinstance(form.auto_id, str) and form.auto_id else "id_%s"
    prefix = form.add_prefix(name)
    return auto_id % prefix if "%s" in auto_id else f"{auto_id}_{prefix}"


@register.filter
def link_target(field: BoundField) -> str:
    """The id a link to the field should jump to: the control itself, or for a group of radio
    buttons or checkboxes its first choice (a fieldset cannot take focus)."""
    if field.field.widget.use_fieldset:
        for choice in field.subwidgets:
            return str(choice.id_for_label)
    return str(field.id_for_label or field.auto_id)


@register.simple_tag(takes_context=True)
def claim_autofocus(context: template.Context) -> bool:
    """True once per page: the first error summary rendered takes the focus when the page
    loads (``autofocus``, so it works without JavaScript); a second form sent back on the same
    page must not steal it."""
    root = context.dicts[0]
    if root.get(_AUTOFOCUS_TAKEN):
        return False
    root[_AUTOFOCUS_TAKEN] = True
    return True


def page_has_errors(context: template.Context) -> bool:
    """Whether any bound form in the page's context was sent back with errors."""
    for value in context.flatten().values():
        if isinstance(value, BaseForm) and value.is_bound and value.errors:
            return True
    return bool(context.get("page_error"))


@register.simple_tag(takes_context=True)
def error_title_prefix(context: template.Context) -> str:
    """"Error: " before the page title when the page shows form errors, so the title read out
    on arrival already says that something must be corrected."""
    return _("Error:") + " " if page_has_errors(context) else ""


@register.filter
def joined_errors(field: BoundField) -> Any:
    return " ".join(str(e) for e in field.errors)
