from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from haven.audit.models import AuditEvent
from haven.core.errors import Sealed, ValidationFailed
from haven.people import name_index, names, services
from haven.people.models import NameIndexState, Person, PersonNameToken


def stored(person: Person, epoch: int | None = None) -> set[int]:
    rows = PersonNameToken.objects.filter(person=person)
    if epoch is not None:
        rows = rows.filter(epoch=epoch)
    return set(rows.values_list("token", flat=True))


def query(org: Any, text: str) -> set[int]:
    found = name_index.query_tokens(str(org.pk), names.name_keys(text))
    return {t for tokens in found.by_epoch.values() for t in tokens}


def test_create_writes_padded_truncated_tokens(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Зелимхан Яндарбиев",
                                    other_names="Zelim, Зелимхан Абуевич")
    rows = PersonNameToken.objects.filter(person=person)
    assert rows.count() % name_index.PAD_TO == 0
    assert all(0 <= r.token < 2 ** name_index.TOKEN_BITS for r in rows)
    assert {r.epoch for r in rows} == {name_index.state().epoch}


@pytest.mark.parametrize("spelling", ["ZELIMKHAN IANDARBIEV", "Selimchan Jandarbijew",
                                      "zelimhan yandarbiev", "Yandarbiyev Zelimkhan",
                                      "Zelimkhan Yandarbiem"])
def test_other_spellings_share_tokens(unsealed: list[str], coordinator: Any,
                                      spelling: str) -> None:
    person = services.person_create(actor=coordinator, legal_name="Зелимхан Яндарбиев")
    assert len(query(coordinator.organization, spelling) & stored(person)) >= 2


def test_same_name_in_two_organizations_has_unrelated_tokens(unsealed: list[str],
                                                             coordinator: Any,
                                                             outsider: Any) -> None:
    mine = services.person_create(actor=coordinator, legal_name="Зелимхан Яндарбиев")
    theirs = services.person_create(actor=outsider, legal_name="Зелимхан Яндарбиев")
    own = query(coordinator.organization, "Зелимхан Яндарбиев")
    assert own <= stored(mine)
    # Padding is random, and truncation makes chance collisions possible; a shared key
    # would share every token.
    assert len(own & stored(theirs)) < len(own) // 2


def test_a_name_change_replaces_the_tokens(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Ruslan Aliev")
    before = stored(person)
    person.legal_name = "Anzor Bekov"
    person.save()
    services.person_reindex(person)
    after = stored(person)
    assert query(coordinator.organization, "Anzor Bekov") <= after
    assert not query(coordinator.organization, "Ruslan Aliev") <= after
    assert before != after


def test_erase_removes_the_tokens(unsealed: list[str], coordinator: Any,
                                  django_capture_on_commit_callbacks: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Anzor")
    assert PersonNameToken.objects.filter(person=person).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(actor=coordinator, person=person)
    assert not PersonNameToken.objects.exists()


def test_reindex_rebuilds_under_new_rules_in_a_new_epoch(unsealed: list[str], coordinator: Any,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    people = [services.person_create(actor=coordinator, legal_name=n)
              for n in ("Ольга Хасанова", "Наталья", "Ruslan")]
    # Nothing to do right after the first build under the current rules.
    services.names_reindex()
    assert services.names_reindex() == (0, False)
    epoch = name_index.state().epoch
    monkeypatch.setattr(names, "RULES_VERSION", names.RULES_VERSION + 1)
    seen: list[tuple[int, int]] = []
    assert services.names_reindex(batch=2, progress=lambda p: seen.append((p.done, p.total))
                                  ) == (3, True)
    assert seen == [(2, 3), (3, 3)]
    row = name_index.state()
    assert (row.epoch, row.building, row.rules) == (epoch + 1, None, names.RULES_VERSION)
    assert set(PersonNameToken.objects.values_list("epoch", flat=True)) == {epoch + 1}
    assert query(coordinator.organization, "Olga Khasanova") <= stored(people[0])
    event = AuditEvent.objects.filter(action="people.names_reindexed").latest("seq")
    assert event.data == {"people": 3, "epoch": epoch + 1, "rotated": False}


def test_rotation_changes_every_token_and_resumes(unsealed: list[str], coordinator: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    services.names_reindex()
    a = services.person_create(actor=coordinator, legal_name="Anzor Bekov")
    b = services.person_create(actor=coordinator, legal_name="Bislan Aliev")
    old = stored(a)
    epoch = name_index.state().epoch
    # A rotation interrupted after the first person: the state remembers the epoch it builds.
    calls = 0
    real = name_index.token_rows

    def dying(people: Any, epochs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("killed")
        return real(people, epochs)

    monkeypatch.setattr(name_index, "token_rows", dying)
    with pytest.raises(RuntimeError):
        services.names_reindex(rotate=True, batch=1)
    assert NameIndexState.objects.get().building == epoch + 1
    # Meanwhile a new person is written in both epochs, and search reads both.
    monkeypatch.setattr(name_index, "token_rows", real)
    c = services.person_create(actor=coordinator, legal_name="Chingiz")
    assert {r.epoch for r in PersonNameToken.objects.filter(person=c)} == {epoch, epoch + 1}
    assert set(name_index.live_epochs()) == {epoch, epoch + 1}
    done, ran = services.names_reindex()  # resumes without --rotate
    assert ran
    assert done == 1  # only the one person the interrupted run had not reached
    assert name_index.state().epoch == epoch + 1
    assert stored(a) != old
    assert query(coordinator.organization, "Bislan Aliev") <= stored(b)


def test_reindex_names_refuses_bad_batch_and_needs_keys(shares: list[str]) -> None:
    with pytest.raises(ValidationFailed):
        services.names_reindex(batch=0)
    with pytest.raises(Sealed):
        name_index.tokens_for("org", 1, ["c:ivan"])


def test_reindex_command_shows_progress(unsealed: list[str], coordinator: Any) -> None:
    services.person_create(actor=coordinator, legal_name="Дарья")
    out = StringIO()
    call_command("people", "reindex", "--names-only", "--rotate", "--batch", "1", stdout=out)
    text = out.getvalue()
    assert "Name tokens: 1 of 1 people" in text
    assert "Name tokens rebuilt for 1 people" in text
    out = StringIO()
    call_command("people", "reindex", "--names-only", stdout=out)
    assert "up to date" in out.getvalue()


def test_no_key_or_name_is_stored_anywhere(unsealed: list[str], coordinator: Any) -> None:
    from django.db import connection

    services.person_create(actor=coordinator, legal_name="Zaremamarkerq Yandarbiev",
                           other_names="Зелимхан")
    keys_of = names.name_keys("Zaremamarkerq Yandarbiev Зелимхан")
    secrets = {"zaremamarkerq", "yandarbiev", "зелимхан"}
    for word in keys_of.tokens:
        secrets |= {word.careful, *word.skeletons, word.consonants}
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                text = " ".join(str(v).lower() for v in row if v is not None)
                found += [(table, s) for s in secrets if len(s) >= 5 and s in text]
    assert found == []
