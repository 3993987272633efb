"""The plaintext baseline of bench/bench_keyring.py, patched into the benchmark process only.

Production crypto code has no switch that stores plaintext (tests/keyring/test_fields.py
proves it). To measure what encryption costs, the benchmark process replaces, for the
duration of a ``with plaintext_fields():`` block, the few functions that seal, open and
fetch keys with ones that pass the bytes through. Nothing here is importable from ``haven``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from django.db.models import Model

from haven.keyring import keys
from haven.keyring.fields import PLAIN_ATTR, EncryptedTextField


def _decrypt(self: EncryptedTextField, instance: Model, raw: bytes) -> str:
    return raw.decode()


def _pre_save(self: EncryptedTextField, model_instance: Model, add: bool) -> Any:
    d = model_instance.__dict__
    if d.pop(f"{self.attname}__dirty", None):
        d[self.attname] = d[PLAIN_ATTR][self.attname].encode()
    return d.get(self.attname, b"")


def _prefetch(instances: Iterable[Model]) -> None:
    return None


def _readable(instances: Iterable[Model]) -> list[Model]:
    return list(instances)


@contextmanager
def plaintext_fields() -> Iterator[None]:
    """Inside the block, encrypted fields store and read their plaintext and no key is fetched."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(EncryptedTextField, "decrypt", _decrypt))
        stack.enter_context(mock.patch.object(EncryptedTextField, "pre_save", _pre_save))
        stack.enter_context(mock.patch.object(keys, "prefetch", _prefetch))
        stack.enter_context(mock.patch.object(keys, "readable", _readable))
        yield
