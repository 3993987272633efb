from __future__ import annotations

from typing import Any

import pytest

from haven.audit.models import AuditEvent
from haven.cases import services as case_services
from haven.core.errors import Forbidden, NotFound, Sealed, ValidationFailed
from haven.keyring import keys
from haven.keyring import services as keyring_services
from haven.keyring.models import DataKey, Kek
from haven.people import selectors, services
from haven.people.models import Person, PersonIndex


def test_create_writes_keys_index_and_audit(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Магомед Хасанов",
                                    other_names="Маго", phone="+7 928 000 11 22")
    assert DataKey.objects.filter(owner_id=person.pk).count() == 1
    assert PersonIndex.objects.filter(person=person, kind="name").count() == 3
    assert PersonIndex.objects.filter(person=person, kind="phone").count() == 1
    event = AuditEvent.objects.get(action="person.created")
    assert event.object_id == str(person.pk)
    assert "Магомед" not in str(event.data)


def test_create_validates(unsealed: list[str], coordinator: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(actor=coordinator, legal_name="  ", phone="12")
    assert set(exc.value.fields) == {"legal_name", "phone"}
    assert Person.objects.count() == 0


def test_roles_without_permission_refused(unsealed: list[str], liaison: Any, auditor: Any) -> None:
    for actor in (liaison, auditor):
        with pytest.raises(Forbidden):
            services.person_create(actor=actor, legal_name="X")


def test_create_while_sealed_refused_and_writes_nothing(shares: list[str], coordinator: Any
                                                        ) -> None:
    with pytest.raises(Sealed):
        services.person_create(actor=coordinator, legal_name="Ruslan")
    assert Person.objects.count() == 0
    assert DataKey.objects.count() == 0


@pytest.mark.parametrize("query", ["магомед", "MAGOMED", "Magomed", "Магомед", "хасанов",
                                   "Khasanov Magomed", "+7 (928) 000-11-22"])
def test_cross_script_search(unsealed: list[str], coordinator: Any, query: str) -> None:
    target = services.person_create(actor=coordinator, legal_name="Магомед Хасанов",
                                    phone="+7 928 000 11 22")
    services.person_create(actor=coordinator, legal_name="Ислам Магомедов")
    rows = selectors.person_list(actor=coordinator, q=query)
    assert [r.id for r in rows] == [target.pk]
    assert rows[0].legal_name == "Магомед Хасанов"


def test_search_misses_and_other_org(unsealed: list[str], coordinator: Any, outsider: Any) -> None:
    services.person_create(actor=coordinator, legal_name="Магомед")
    # An equivalent spelling is found, but one word is never more than a possible match.
    (row,) = selectors.person_list(actor=coordinator, q="Magomet")
    assert (row.match, row.why) == ("possible", "magomet: equivalent name")
    assert selectors.person_list(actor=coordinator, q="Petr Sidorov") == []
    services.person_create(actor=outsider, legal_name="Магомед")
    assert len(selectors.person_list(actor=coordinator, q="magomed")) == 1
    assert len(selectors.person_list(actor=outsider, q="magomed")) == 1
    # the same name in two organizations has unrelated digests
    digests = list(PersonIndex.objects.values_list("digest", flat=True))
    assert len({bytes(d) for d in digests}) == 2


def test_list_hides_names_without_reveal_and_audits_reveals(unsealed: list[str],
                                                            coordinator: Any, operator: Any) -> None:
    case = case_services.case_open(actor=operator, legal_name="Ruslan")
    person = case.members.get().person
    (row,) = selectors.person_list(actor=operator)  # the principal of the case they opened
    assert row.legal_name is None
    assert not AuditEvent.objects.filter(action="person.revealed").exists()
    (row,) = selectors.person_list(actor=coordinator)
    assert row.legal_name == "Ruslan"
    event = AuditEvent.objects.get(action="person.revealed")
    assert event.data["ids"] == [str(person.pk)]


def test_erase_shreds_and_rewraps(unsealed: list[str], coordinator: Any, caseworker: Any,
                                  django_capture_on_commit_callbacks: Any) -> None:
    a = services.person_create(actor=coordinator, legal_name="Anzor")
    b = services.person_create(actor=coordinator, legal_name="Bislan")
    old_kek = Kek.objects.get()
    with pytest.raises(Forbidden):
        services.person_erase(actor=caseworker, person=a)
    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(actor=coordinator, person=a)
    assert not Person.objects.filter(pk=a.pk).exists()
    assert not DataKey.objects.filter(owner_id=a.pk).exists()
    new_kek = Kek.objects.get()
    assert new_kek.pk != old_kek.pk
    assert DataKey.objects.get(owner_id=b.pk).kek_id == new_kek.pk
    assert Person.objects.get(pk=b.pk).legal_name == "Bislan"
    assert AuditEvent.objects.filter(action="person.erased", object_id=str(a.pk)).exists()
    assert keyring_services.keystore_path().exists()
    with pytest.raises(keys.KeyDestroyed):
        keys.data_key_for(Person(pk=a.pk, organization_id=a.organization_id))


def test_other_org_cannot_see_or_erase(unsealed: list[str], coordinator: Any, outsider: Any
                                       ) -> None:
    person = services.person_create(actor=coordinator, legal_name="Anzor")
    with pytest.raises(NotFound):
        selectors.person_get(actor=outsider, person_id=person.pk)
    with pytest.raises(NotFound):
        services.person_erase(actor=outsider, person=person)


def test_reindex_rebuilds_every_persons_rows_in_batches(unsealed: list[str], coordinator: Any,
                                                        outsider: Any) -> None:
    made = [services.person_create(actor=coordinator, legal_name="Ольга Хасанова",
                                   phone="+7 928 000 11 22"),
            services.person_create(actor=coordinator, legal_name="Наталья"),
            services.person_create(actor=outsider, legal_name="Ольга")]
    before = {(r.person_id, r.kind, bytes(r.digest)) for r in PersonIndex.objects.all()}
    # An index written under older rules: wrong digests for everyone.
    PersonIndex.objects.update(digest=b"\0" * 32)
    assert selectors.person_ids_matching(coordinator, "Olga") == []
    assert services.people_reindex(batch=2) == 3
    after = {(r.person_id, r.kind, bytes(r.digest)) for r in PersonIndex.objects.all()}
    assert after == before
    assert selectors.person_ids_matching(coordinator, "Olga") == [made[0].pk]
    assert selectors.person_ids_matching(outsider, "ольга") == [made[2].pk]
    assert AuditEvent.objects.get(action="people.reindexed").data == {"people": 3}


def test_reindex_refuses_a_bad_batch_and_needs_keys(shares: list[str], coordinator: Any) -> None:
    with pytest.raises(ValidationFailed):
        services.people_reindex(batch=0)
    assert not AuditEvent.objects.filter(action="people.reindexed").exists()
