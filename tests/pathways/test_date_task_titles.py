"""The task an interview or deadline makes names its pathway as people read it, not a slug."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone, translation

from haven.cases.models import Case
from haven.pathways import services
from haven.pathways.models import DateKind, Pathway


def test_date_tasks_name_the_pathway_in_the_setters_language(
        reference: dict[str, Pathway], assigned: Case, caseworker: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                               pathway=reference["de-humanitarian"])
    day = timezone.localdate() + timedelta(days=5)
    english = services.application_date_set(actor=caseworker, application=application,
                                            kind=DateKind.INTERVIEW, on=day)
    assert english.task is not None
    assert english.task.title == "Interview — Germany — humanitarian visa"
    with translation.override("ru"):
        russian = services.application_date_set(actor=caseworker, application=application,
                                                kind=DateKind.DEADLINE, on=day,
                                                label="Справка о несудимости")
    assert russian.task is not None
    assert russian.task.title == "Справка о несудимости — Германия — гуманитарная виза"
    assert "de-humanitarian" not in english.task.title + russian.task.title
