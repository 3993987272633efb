"""Erasing a person removes everything that holds their data (DESIGN, threat 7): a member of
a household with documents (and their files), tasks, a journey and a booking of their own, an
application of their own with its checklist ticks, and a placement — then every table is read
(raw, and every sealed field decrypted) and the file store listed, looking for them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.cases.models import Case, DocType, Document, Member, Relationship, Task
from haven.housing import services as housing_services
from haven.keyring import keys
from haven.keyring.fields import EncryptedTextField
from haven.pathways import services as pathway_services
from haven.pathways.models import ApplicationStatus, Booking, ChecklistTick, Pathway, Travel
from haven.people import services
from haven.people.models import Person
from tests.cases.conftest import _fast_passwords, assigned, opened
from tests.pathways.conftest import reference

__all__ = ["_fast_passwords", "assigned", "opened", "reference"]

MARKERS = ("Зарема Маркерова", "+7 999 123 45 67", "marker-story", "marker-task",
           "marker-route", "marker-air", "PNRMARK", "marker-ref", "marker-embassy",
           "marker-passport")


def _upload(client: Client, case: Case, person: Person, doc_type: str,
            name: str = "marker-passport.pdf") -> Document:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(f"/cases/{case.pk}/documents/", {
        "doc_type": doc_type, "person": str(person.pk),
        "file": SimpleUploadedFile(name, b"%PDF " + name.encode())})
    assert response.status_code == 302
    return Document.objects.filter(person=person).latest("created_at")


def _raw_rows() -> dict[str, list[str]]:
    """Every table but the audit log (which keeps ids by design), each row as text."""
    out: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith("audit_"):
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            out[table] = [" ".join(_text(v) for v in row) for row in cursor.fetchall()]
    return out


def _text(value: Any) -> str:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)


def _decrypted_values() -> list[str]:
    """Every sealed field of every row that can still be opened, decrypted."""
    found: list[str] = []
    for model in apps.get_models():
        sealed = [f.name for f in model._meta.get_fields()
                  if isinstance(f, EncryptedTextField)]
        if not sealed:
            continue
        rows = list(model._default_manager.all())
        keys.prefetch(rows)
        for row in rows:
            for name in sealed:
                try:
                    found.append(str(getattr(row, name)))
                except keys.KeyDestroyed:
                    found.append("")
    return found


@pytest.fixture
def household(assigned: Case, *, coordinator: Any, caseworker: Any,
              reference: dict[str, Pathway], login: Callable[[Any], Client],
              data_dir: Any) -> dict[str, Any]:
    spouse = case_services.member_add(actor=caseworker, case=assigned,
                                      legal_name="Зарема Маркерова", phone="+7 999 123 45 67",
                                      relationship=Relationship.SPOUSE)
    principal = Member.objects.get(case=assigned, is_principal=True)
    person = spouse.person
    case_services.profile_update(actor=caseworker, case=assigned, person=person,
                                 story="marker-story", nationality="Russian")
    client = login(caseworker)
    mine = _upload(client, assigned, person, DocType.TICKET)
    theirs = _upload(client, assigned, principal.person, DocType.PASSPORT, "principal.pdf")
    case_services.task_create(actor=caseworker, case=assigned, title="marker-task",
                              person=person)
    application = pathway_services.application_create(
        actor=caseworker, case=assigned, pathway=reference["de-humanitarian"], members=[spouse])
    pathway_services.checklist_tick(actor=caseworker, application=application, member=spouse,
                                    doc_type="evidence", done=True)
    for to in (ApplicationStatus.COLLECTING_DOCUMENTS, ApplicationStatus.READY_FOR_REVIEW):
        pathway_services.application_transition(actor=caseworker, application=application,
                                                to=to)
    pathway_services.application_transition(
        actor=caseworker, application=application, to=ApplicationStatus.SUBMITTED,
        submitted_to="marker-embassy", external_reference="marker-ref")
    alone = pathway_services.travel_plan(actor=caseworker, case=assigned, members=[spouse.pk],
                                         route="marker-route")
    booking = pathway_services.booking_add(actor=caseworker, travel=alone,
                                           carrier="marker-air", reference="PNRMARK",
                                           tickets=[mine.pk])
    # The first plan fell through (an aborted journey still holds its route and bookings).
    pathway_services.travel_transition(actor=caseworker, travel=alone, to="aborted")
    together = pathway_services.travel_plan(actor=caseworker, case=assigned,
                                            members=[spouse.pk, principal.pk], route="shared")
    shelter = housing_services.shelter_create(actor=coordinator, code_name="S-1",
                                              address="ulitsa 1", capacity=4)
    housing_services.placement_create(actor=caseworker, case=assigned, person=person,
                                      shelter=shelter)
    return {"person": person, "member": spouse, "document": mine, "kept_document": theirs,
            "application": application, "alone": alone, "booking": booking,
            "together": together, "data_dir": data_dir}


def test_erasing_a_person_leaves_nothing_of_them_in_any_table_or_file(
        household: dict[str, Any], coordinator: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    person, member, document = household["person"], household["member"], household["document"]
    files_dir = household["data_dir"] / "files"
    assert (files_dir / f"{document.pk}.hvf").exists()
    ids = [str(x) for x in (person.pk, member.pk, document.pk, household["alone"].pk,
                            household["booking"].pk)]
    before = _raw_rows()
    def holds(row: str, ident: str) -> bool:  # a uuid column: with dashes (PostgreSQL) or not
        return ident in row or ident.replace("-", "") in row

    assert all(any(holds(row, i) for rows in before.values() for row in rows)
               for i in ids)  # the scan sees each of them before
    assert any("marker-story" in v for v in _decrypted_values())

    with django_capture_on_commit_callbacks(execute=True):  # the files go after commit
        services.person_erase(actor=coordinator, person=person)

    leftovers = [(table, row[:120]) for table, rows in _raw_rows().items() for row in rows
                 for i in ids if holds(row, i)]
    assert leftovers == []
    decrypted = _decrypted_values()
    assert [m for m in MARKERS if any(m in v for v in decrypted)] == []
    assert not (files_dir / f"{document.pk}.hvf").exists()
    assert (files_dir / f"{household['kept_document'].pk}.hvf").exists()  # the principal's
    # What is not theirs alone stays: the shared journey (without them), the application's
    # stages and dates for the outcome figures, the principal's document.
    together = Travel.objects.get(pk=household["together"].pk)
    assert together.members.count() == 1
    application = household["application"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not Booking.objects.exists()
    assert not ChecklistTick.objects.exists()
    assert not Task.objects.filter(person_id=person.pk).exists()
    event = AuditEvent.objects.get(action="person.erased")
    assert event.data == {"files": 0, "documents": 1, "tasks": 1, "journeys": 1,
                          "applications": 1}
    assert not Person.objects.filter(pk=person.pk).exists()


def test_erasing_someone_else_leaves_a_person_untouched(household: dict[str, Any],
                                                         coordinator: Any) -> None:
    other = services.person_create(actor=coordinator, legal_name="Посторонний")
    services.person_erase(actor=coordinator, person=other)
    assert Document.objects.filter(pk=household["document"].pk).exists()
    assert Booking.objects.filter(pk=household["booking"].pk).exists()
    assert uuid.UUID(str(household["person"].pk))
    assert Person.objects.filter(pk=household["person"].pk).exists()
