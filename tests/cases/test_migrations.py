from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from haven.cases.models import Document

BEFORE = [("cases", "0008_task_application_date_mine")]


@pytest.mark.django_db(transaction=True)
def test_documents_from_before_become_the_principals(org: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        Person = old.get_model("people", "Person")
        Case = old.get_model("cases", "Case")
        Member = old.get_model("cases", "Member")
        principal, spouse = (Person.objects.create(organization_id=org.pk) for _ in range(2))
        case = Case.objects.create(organization_id=org.pk, number="HV-TEST-0001")
        Member.objects.create(case=case, person=spouse, relationship="spouse")
        Member.objects.create(case=case, person=principal, relationship="self",
                              is_principal=True)
        made = old.get_model("cases", "Document").objects
        nobodys = made.create(id=uuid.uuid4(), case=case, doc_type="passport", size=1)
        spouses = made.create(id=uuid.uuid4(), case=case, person=spouse, doc_type="passport",
                              size=1)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Document.objects.get(pk=nobodys.pk).person_id == principal.pk
    assert Document.objects.get(pk=spouses.pk).person_id == spouse.pk
