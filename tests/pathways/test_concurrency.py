"""Two people editing the same application at once: no lost update.

The application's version is bumped by every edit and every move; an edit made on an older
version is refused as Stale and changes nothing. Threads on the real database (SQLite in
make test's first pass, PostgreSQL in its second).
"""

from __future__ import annotations

from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.cases.models import Case
from haven.core.errors import Stale
from haven.pathways import services
from haven.pathways.models import Application, ApplicationStatus, Pathway
from tests.cases.test_concurrency import _race


def _fresh(application: Application) -> Application:
    return Application.objects.select_related("case").get(pk=application.pk)


@pytest.mark.django_db(transaction=True)
def test_two_edits_on_one_version_one_wins_one_is_told(
        reference: dict[str, Pathway], assigned: Case, caseworker: Any, coordinator: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                               pathway=reference["de-humanitarian"])
    seen = application.version
    results = _race(
        lambda: services.application_update(actor=caseworker, application=_fresh(application),
                                            external_reference="MINE-1", version=seen),
        lambda: services.application_update(actor=coordinator, application=_fresh(application),
                                            external_reference="THEIRS-2", version=seen),
    )
    assert sorted(results) == ["ok", "stale"], results
    saved = _fresh(application)
    assert saved.version == seen + 1
    assert str(saved.external_reference) == ("MINE-1" if results[0] == "ok" else "THEIRS-2")
    assert AuditEvent.objects.filter(action="application.updated",
                                     object_id=str(application.pk)).count() == 1


@pytest.mark.django_db
def test_an_edit_made_before_a_move_is_refused_and_changes_nothing(
        reference: dict[str, Pathway], assigned: Case, caseworker: Any) -> None:
    application = services.application_create(actor=caseworker, case=assigned,
                                               pathway=reference["de-humanitarian"])
    seen = application.version
    services.application_transition(actor=caseworker, application=application,
                                    to=ApplicationStatus.COLLECTING_DOCUMENTS)
    moved = _fresh(application)
    assert moved.version == seen + 1
    with pytest.raises(Stale) as refused:
        services.application_update(actor=caseworker, application=moved,
                                    external_reference="late", version=seen)
    assert refused.value.current == seen + 1
    after = _fresh(application)
    assert (str(after.external_reference), after.version) == ("", seen + 1)
    # Without a version (a script sending only what it changes) the edit goes through.
    services.application_update(actor=caseworker, application=after, external_reference="ok")
    assert _fresh(application).version == seen + 2
