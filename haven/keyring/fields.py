"""``EncryptedTextField``: a text value stored only as AES-256-GCM ciphertext.

On the model it reads and writes like a string (``person.legal_name = "Магомед"``). The
column holds ``version | nonce | ciphertext | tag`` sealed under the owner's data key, with
associated data naming the model, the row and the field, so a ciphertext copied to another
row or field — or changed by one bit — fails to open with a clear error instead of showing
the wrong person's name. The data key must exist before the first save
(``keyring.keys.data_key_create`` in the service that creates the record).

Queries cannot filter on these columns; search goes through blind indexes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from haven.core.errors import HavenError
from haven.keyring import crypto, keys

PLAIN_ATTR = "_haven_plaintext"
CIPHER_ATTR = "_haven_cipher"

if TYPE_CHECKING:
    _BinaryField = models.BinaryField[Any, Any]
else:
    _BinaryField = models.BinaryField


class TamperedCiphertext(HavenError):
    """A stored value failed authentication: it was changed, or moved from another row or field."""

    status = 500
    code = "tampered"


def field_aad(instance: models.Model, field_name: str) -> bytes:
    """``haven/field/v1|<model>|<pk>|<field>``: what a field's ciphertext is bound to."""
    return f"haven/field/v1|{instance._meta.label_lower}|{instance.pk}|{field_name}".encode()


def _cipher(instance: models.Model) -> tuple[crypto.AeadKey, bytes]:
    """The record's cipher and the row's part of its fields' associated data.

    Made once per instance (a page of 50 records reads 150 fields) and made again if the
    instance's data key or primary key changes, so a value is never bound to a stale row.
    """
    d = instance.__dict__
    held: tuple[bytes, Any, str, crypto.AeadKey, bytes] | None = d.get(CIPHER_ATTR)
    if held is not None and held[0] is d.get(keys.DK_ATTR) and held[1] is d.get(held[2]):
        return held[3], held[4]
    aead = keys.aead_for(instance)
    attname = type(instance)._meta.pk.attname
    pk = d.get(attname)
    held = (d[keys.DK_ATTR], pk, attname, aead,
            f"haven/field/v1|{instance._meta.label_lower}|{pk}|".encode())
    d[CIPHER_ATTR] = held
    return held[3], held[4]


def _plain(instance: models.Model) -> dict[str, str]:
    cache: dict[str, str] | None = instance.__dict__.get(PLAIN_ATTR)
    if cache is None:
        cache = instance.__dict__[PLAIN_ATTR] = {}
    return cache


class EncryptedAttribute(DeferredAttribute):
    """Plaintext in, plaintext out; ciphertext in the instance's column attribute."""

    field: EncryptedTextField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        plain = _plain(instance)
        name = self.field.attname
        if name in plain:
            return plain[name]
        raw = super().__get__(instance, cls)
        value = self.field.decrypt(instance, bytes(raw or b""))
        plain[name] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        plain = _plain(instance)
        if isinstance(value, str):
            plain[self.field.attname] = value
            instance.__dict__[f"{self.field.attname}__dirty"] = True
            return
        # Bytes come from the database (model init, refresh_from_db): forget any plaintext.
        plain.pop(self.field.attname, None)
        instance.__dict__.pop(f"{self.field.attname}__dirty", None)
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(_BinaryField):
    """A sensitive text value (name, contact, location, story, note, address, file name)."""

    descriptor_class = EncryptedAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", b"")
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def set_attributes_from_name(self, name: str) -> None:
        super().set_attributes_from_name(name)
        self.aad_name = self.name.encode()  # the last part of field_aad, read for every value

    def decrypt(self, instance: models.Model, raw: bytes) -> str:
        if not raw:
            return ""
        aead, row_aad = _cipher(instance)
        try:
            return aead.open(raw, row_aad + self.aad_name).decode()
        except crypto.DecryptionFailed:
            if keys.refresh(instance):  # a cached key that was stale: once more, fresh
                return self.decrypt(instance, raw)
            raise TamperedCiphertext(
                f"The stored {self.verbose_name} of this record failed its integrity check: it "
                "was changed or moved from another record, so it is not shown."
            ) from None

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if model_instance.__dict__.get(f"{self.attname}__dirty"):
            value = _plain(model_instance)[self.attname]
            if value == "":
                sealed = b""
            else:
                keys.refresh(model_instance)  # never write with a key from the worker cache
                aead, row_aad = _cipher(model_instance)
                sealed = aead.seal(value.encode(), row_aad + self.aad_name)
            model_instance.__dict__[self.attname] = sealed
            model_instance.__dict__.pop(f"{self.attname}__dirty", None)
        return model_instance.__dict__.get(self.attname, b"")
