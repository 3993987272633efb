from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haven.keyring import crypto, fields, keys
from haven.keyring.fields import TamperedCiphertext
from haven.people import services
from haven.people.models import Person


def _fresh(person: Person) -> Person:
    return Person.objects.get(pk=person.pk)


def test_values_are_stored_only_as_ciphertext(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Магомед Хасанов",
                                    phone="+7 928 000 11 22")
    raw = Person.objects.filter(pk=person.pk).values_list("legal_name", "phone").get()
    for blob in raw:
        assert bytes(blob)[:1] == crypto.AEAD_VERSION
        assert "Магомед".encode() not in bytes(blob)
    again = _fresh(person)
    assert again.legal_name == "Магомед Хасанов"
    assert again.phone == "+7 928 000 11 22"
    assert again.other_names == ""


# Settings that once switched encryption off (a benchmark switch) or that change how keys are
# held: none of them, alone or together, may make the field store its plaintext.
_SETTINGS_TRIED = [
    {"HAVEN_BENCH_PLAINTEXT_FIELDS": True},
    {"DEBUG": True},
    {"HAVEN_KEY_CACHE_SECONDS": 0},
    {"HAVEN_KEY_CACHE_SIZE": 0},
    {"HAVEN_BENCH_PLAINTEXT_FIELDS": True, "DEBUG": True, "HAVEN_KEY_CACHE_SECONDS": 0},
]


@pytest.mark.parametrize("overrides", _SETTINGS_TRIED)
def test_no_setting_makes_the_field_store_plaintext(unsealed: list[str], coordinator: Any,
                                                    overrides: dict[str, Any]) -> None:
    with override_settings(**overrides):
        person = services.person_create(actor=coordinator, legal_name="Магомед Хасанов")
        person.other_names = "Маго"
        person.save()
        raw = Person.objects.filter(pk=person.pk).values_list("legal_name", "other_names").get()
        for blob, plain in zip(raw, ["Магомед Хасанов", "Маго"], strict=True):
            assert bytes(blob)[:1] == crypto.AEAD_VERSION
            assert plain.encode() not in bytes(blob)
        assert _fresh(person).legal_name == "Магомед Хасанов"


def test_field_code_reads_no_setting() -> None:
    """The seal and open paths take no configuration at all: no module of the field's write
    path reads a setting named for plaintext or benchmarks, and the field module reads none."""
    keyring = Path(fields.__file__).parent
    tree = ast.parse(Path(fields.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "django.conf" not in imported
    for module in keyring.rglob("*.py"):
        text = module.read_text()
        assert "PLAINTEXT_FIELDS" not in text, module
        assert "bench" not in text.lower(), module


def test_tampered_ciphertext_refused(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Ruslan")
    blob = bytearray(Person.objects.values_list("legal_name", flat=True).get(pk=person.pk))
    blob[-1] ^= 0x01
    Person.objects.filter(pk=person.pk).update(legal_name=bytes(blob))
    with pytest.raises(TamperedCiphertext, match="integrity check"):
        _ = _fresh(person).legal_name


def test_ciphertext_moved_to_another_field_refused(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Ruslan", other_names="Rus")
    blob = Person.objects.values_list("legal_name", flat=True).get(pk=person.pk)
    Person.objects.filter(pk=person.pk).update(other_names=blob)
    with pytest.raises(TamperedCiphertext):
        _ = _fresh(person).other_names


def test_ciphertext_moved_to_another_row_refused(unsealed: list[str], coordinator: Any) -> None:
    a = services.person_create(actor=coordinator, legal_name="Anzor")
    b = services.person_create(actor=coordinator, legal_name="Bislan")
    blob = Person.objects.values_list("legal_name", flat=True).get(pk=a.pk)
    Person.objects.filter(pk=b.pk).update(legal_name=blob)
    with pytest.raises(TamperedCiphertext):
        _ = _fresh(b).legal_name
    # Even with b's row given a's data key, the row id in the associated data refuses it.
    moved = _fresh(b)
    moved.__dict__[keys.DK_ATTR] = keys.data_key_for(_fresh(a))
    with pytest.raises(TamperedCiphertext):
        _ = moved.legal_name


def test_prefetch_unwraps_in_one_call(unsealed: list[str], coordinator: Any,
                                      local_agent: Any, monkeypatch: Any) -> None:
    for i in range(5):
        services.person_create(actor=coordinator, legal_name=f"Person {i}")
    calls: list[str] = []
    original = local_agent.call

    def recording(req: dict[str, Any]) -> dict[str, Any]:
        calls.append(req["op"])
        answer: dict[str, Any] = original(req)
        return answer

    monkeypatch.setattr(local_agent, "call", recording)
    people = list(Person.objects.all())
    keys.prefetch(people)
    assert sorted(p.legal_name for p in people) == [f"Person {i}" for i in range(5)]
    assert calls == ["unwrap_dks"]


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=32, max_size=32), plain=st.binary(max_size=2000),
       aad=st.binary(max_size=100))
def test_aead_round_trip(key: bytes, plain: bytes, aad: bytes) -> None:
    sealed = crypto.aead_seal(key, plain, aad)
    assert crypto.aead_open(key, sealed, aad) == plain
    with pytest.raises(crypto.DecryptionFailed):
        crypto.aead_open(key, sealed, aad + b"x")


@settings(max_examples=40, deadline=None)
@given(key=st.binary(min_size=32, max_size=32), plain=st.binary(max_size=2000),
       flip=st.integers(min_value=0))
def test_aead_detects_any_bit_flip(key: bytes, plain: bytes, flip: int) -> None:
    sealed = bytearray(crypto.aead_seal(key, plain, b"ad"))
    sealed[flip % len(sealed)] ^= 1 << (flip % 8)
    with pytest.raises(crypto.DecryptionFailed):
        crypto.aead_open(key, bytes(sealed), b"ad")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_field_round_trip_any_text(unsealed: list[str], coordinator: Any, text: str) -> None:
    person = Person(organization_id=coordinator.organization_id)
    keys.data_key_create(person)
    person.legal_name = text
    person.save()
    assert _fresh(person).legal_name == text
