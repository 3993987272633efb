"""People Haven protects. Every identifying value is an ``EncryptedTextField``; search goes
through ``PersonIndex`` blind-index rows, never through the values."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from haven.accounts.models import Organization, User
from haven.core.models import BaseModel
from haven.keyring.fields import EncryptedTextField


class PersonQuerySet(models.QuerySet["Person"]):
    """People; ``policy.people_visible_to`` decides who sees which."""


class Person(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="people")
    legal_name = EncryptedTextField("legal name")
    other_names = EncryptedTextField("other names")
    phone = EncryptedTextField("phone")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects: ClassVar[PersonQuerySet] = PersonQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"person {self.pk}"  # never the name: str() ends up in logs and admin titles

    def keyring_owner(self) -> tuple[str, str]:
        return "people.person", str(self.pk)


class IndexKind(models.TextChoices):
    NAME = "name", "name token"
    PHONE = "phone", "phone number"


class PersonIndex(models.Model):
    """One blind-index entry: HMAC of one normalized token of one field kind."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="index_entries")
    kind = models.CharField(max_length=8, choices=IndexKind.choices)
    digest = models.BinaryField(max_length=32)

    class Meta:
        # (kind, digest, person): everyone with a token, read from the index alone and in
        # person order, so the people with two common tokens are found by merging two index
        # ranges (people.selectors.PersonSearch). (person, kind, digest): does this one person
        # have it — what a list checking a page of cases asks (cases.selectors._name_search).
        indexes = [models.Index(fields=["kind", "digest", "person"], name="person_index_token"),
                   models.Index(fields=["person", "kind", "digest"], name="person_index_own")]

    def __str__(self) -> str:
        return f"{self.kind} index of {self.person_id}"


class PersonFile(BaseModel):
    """A document about a person, stored encrypted under the person's data key."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="files")
    name = EncryptedTextField("file name")
    content_type = EncryptedTextField("content type")
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"file {self.pk}"

    def keyring_owner(self) -> tuple[str, str]:
        return "people.person", str(self.person_id)
