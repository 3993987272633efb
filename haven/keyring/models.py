"""Key material, all of it wrapped: nothing here opens without the master key in the agent.

Hierarchy::

    master key (shares; agent memory only)
      ├─ KeySet.index_key   blind-index root key
      ├─ KeySet.backup_key  root of backup archive keys
      └─ Kek.wrapped        key-encrypting key (replaced whenever a person is erased)
           └─ DataKey.wrapped   one per record owner (a person); encrypts its fields and files

These tables are *key material*: data backups leave them out; they travel in the separate
keystore file (see ``haven.keyring.backup``), so destroying a data key and the KEK that
wrapped it leaves every older data backup holding only noise for that person.
"""

from __future__ import annotations

from django.db import models

from haven.core.models import BaseModel


class KeySetState(models.TextChoices):
    ACTIVE = "active", "active"
    PENDING = "pending", "pending (being rotated to)"


class KeySet(BaseModel):
    """One master key generation: its verifier and SLIP-39 identifier (neither is secret)."""

    state = models.CharField(max_length=16, choices=KeySetState.choices, default=KeySetState.ACTIVE)
    identifier = models.PositiveIntegerField(help_text="SLIP-39 identifier common to its shares")
    threshold = models.PositiveSmallIntegerField()
    shares = models.PositiveSmallIntegerField()
    verifier = models.BinaryField()
    index_key = models.BinaryField(blank=True, default=b"")
    backup_key = models.BinaryField(blank=True, default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="one_active_keyset"
            )
        ]

    def __str__(self) -> str:
        return f"key set {self.pk} ({self.state})"


class Kek(BaseModel):
    """A key-encrypting key, wrapped under its key set's master key."""

    keyset = models.ForeignKey(KeySet, on_delete=models.CASCADE, related_name="keks")
    wrapped = models.BinaryField()
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"KEK {self.pk}"


class DataKey(BaseModel):
    """The data key of one owner (``people.person``, …), wrapped under a KEK."""

    owner_type = models.CharField(max_length=64)
    owner_id = models.UUIDField()
    kek = models.ForeignKey(Kek, on_delete=models.PROTECT, related_name="data_keys")
    wrapped = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_type", "owner_id"], name="one_key_per_owner")
        ]

    def __str__(self) -> str:
        return f"data key of {self.owner_type} {self.owner_id}"


class UnsealLockout(models.Model):
    """Failed unseal attempts per account (or ``cli``), for the lockout."""

    key = models.CharField(max_length=80, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"unseal attempts of {self.key}"


KEY_MATERIAL_TABLES = ("keyring_datakey", "keyring_kek", "keyring_keyset")
