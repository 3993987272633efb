"""Two people editing the same case or person at once: no lost update.

Each edit carries the version its editor saw; the database row lock orders the saves and the
later one, made on an older version, is refused as Stale. Threads on the real database
(SQLite in make test's first pass, PostgreSQL in its second).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from haven.audit.models import AuditEvent
from haven.cases import selectors, services
from haven.cases.models import Case, PersonProfile, Priority
from haven.core.errors import Stale

Login = Callable[[Any], Client]


def _race(*calls: Callable[[], object]) -> list[str]:
    """Run ``calls`` in threads released together; 'ok' or the error's code for each."""
    barrier = threading.Barrier(len(calls))
    results = [""] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait()
            calls[i]()
            results[i] = "ok"
        except Stale:
            results[i] = "stale"
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = f"error: {exc!r}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_case_edits_on_one_version_one_wins_one_is_told(assigned: Case, caseworker: Any,
                                                            coordinator: Any) -> None:
    seen = Case.objects.get(pk=assigned.pk).version
    results = _race(
        lambda: services.case_update(actor=caseworker, case=Case.objects.get(pk=assigned.pk),
                                     priority=Priority.EMERGENCY, version=seen),
        lambda: services.case_update(actor=coordinator, case=Case.objects.get(pk=assigned.pk),
                                     priority=Priority.URGENT, summary="Moved", version=seen),
    )
    assert sorted(results) == ["ok", "stale"], results
    case = Case.objects.get(pk=assigned.pk)
    assert case.version == seen + 1
    winner = Priority.EMERGENCY if results[0] == "ok" else Priority.URGENT
    assert case.priority == winner
    assert AuditEvent.objects.filter(action="case.updated", object_id=str(case.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_first_profile_saves_cannot_overwrite_each_other(assigned: Case, caseworker: Any,
                                                             coordinator: Any) -> None:
    person = assigned.members.get().person
    results = _race(
        lambda: services.profile_update(actor=caseworker, case=assigned, person=person,
                                        version=0, nationality="RU", story="Mine"),
        lambda: services.profile_update(actor=coordinator, case=assigned, person=person,
                                        version=0, nationality="RU", story="Theirs"),
    )
    assert sorted(results) == ["ok", "stale"], results
    profile = PersonProfile.objects.get(person=person)
    assert profile.version == 1
    assert profile.story == ("Mine" if results[0] == "ok" else "Theirs")


def test_edit_without_a_version_still_saves(assigned: Case, caseworker: Any) -> None:
    services.case_update(actor=caseworker, case=assigned, priority=Priority.URGENT)
    services.case_update(actor=caseworker, case=assigned, priority=Priority.NORMAL)
    assigned.refresh_from_db()
    assert assigned.version == 3


def test_stale_case_form_keeps_the_typed_values_and_saving_again_wins(
        assigned: Case, caseworker: Any, coordinator: Any, login: Login) -> None:
    seen = assigned.version
    services.case_update(actor=coordinator, case=assigned, priority=Priority.URGENT)
    client = login(caseworker)
    stale = client.post(f"/cases/{assigned.pk}/update/", {
        "priority": Priority.EMERGENCY, "case_type": assigned.case_type, "version": seen})
    assert stale.status_code == 400
    page = stale.content.decode()
    assert "changed by someone else" in page
    assigned.refresh_from_db()
    assert assigned.priority == Priority.URGENT
    assert f'name="version" value="{assigned.version}"' in page
    again = client.post(f"/cases/{assigned.pk}/update/", {
        "priority": Priority.EMERGENCY, "case_type": assigned.case_type,
        "version": assigned.version})
    assert again.status_code == 302
    assigned.refresh_from_db()
    assert assigned.priority == Priority.EMERGENCY


def test_stale_profile_page_shows_their_values_next_to_mine(assigned: Case, caseworker: Any,
                                                             coordinator: Any,
                                                             login: Login) -> None:
    person = assigned.members.get().person
    client = login(caseworker)
    url = f"/cases/{assigned.pk}/people/{person.pk}/"
    opened = selectors.profile_for_edit(actor=caseworker, case=assigned,
                                        member=assigned.members.get())
    services.profile_update(actor=coordinator, case=assigned, person=person,
                            version=opened["version"], story="Coordinator's account")
    answer = client.post(url, {"version": opened["version"], "legal_name": "Магомед Хасанов",
                               "story": "Caseworker's account"})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "Coordinator&#x27;s account" in page or "Coordinator's account" in page
    assert "Caseworker&#x27;s account" in page or "Caseworker's account" in page
    assert PersonProfile.objects.get(person=person).story == "Coordinator's account"
    saved = client.post(url, {"version": opened["version"] + 1, "legal_name": "Магомед Хасанов",
                              "story": "Merged account"})
    assert saved.status_code == 302
    assert PersonProfile.objects.get(person=person).story == "Merged account"


def test_api_patch_with_an_old_version_is_409_stale_and_changes_nothing(
        assigned: Case, caseworker: Any, coordinator: Any, api: Any) -> None:
    seen = assigned.version
    services.case_update(actor=coordinator, case=assigned, priority=Priority.URGENT)
    client = api(caseworker)
    answer = client.patch(f"/api/v1/cases/{assigned.pk}",
                          {"priority": Priority.EMERGENCY, "version": seen},
                          content_type="application/json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "stale"
    assigned.refresh_from_db()
    assert assigned.priority == Priority.URGENT
    fresh = client.patch(f"/api/v1/cases/{assigned.pk}",
                         {"priority": Priority.EMERGENCY, "version": assigned.version},
                         content_type="application/json")
    assert fresh.status_code == 200
    assert fresh.json()["version"] == assigned.version + 1
