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


class NameIndexState(models.Model):
    """The one row saying which epoch of name tokens search reads (``epoch``), which one a
    rebuild is writing (``building``, or None) and under which rules the current epoch was
    built (``rules``: ``names.RULES_VERSION``). An epoch is part of the tokens' HMAC key, so
    a new epoch replaces every token (``people.name_index``)."""

    epoch = models.PositiveIntegerField(default=1)
    building = models.PositiveIntegerField(null=True, blank=True)
    rules = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"name tokens epoch {self.epoch}"


class PersonNameToken(models.Model):
    """One blind candidate token of a person's name: a keyed HMAC of one matching key
    (``names.name_keys``), truncated so that unrelated keys share tokens on purpose. Never a
    key itself; what the table tells its reader is in docs/keyring.md."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="name_tokens")
    epoch = models.PositiveIntegerField()
    token = models.PositiveIntegerField()

    class Meta:
        # (epoch, token, person): the people holding any of a query's tokens, from the index
        # alone; (person, epoch): one person's rows, replaced on every change of their name.
        indexes = [models.Index(fields=["epoch", "token", "person"], name="person_name_token"),
                   models.Index(fields=["person", "epoch"], name="person_name_token_own")]

    def __str__(self) -> str:
        return f"name token of {self.person_id}"


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


class PairState(models.TextChoices):
    OPEN = "open", "open"
    SAME = "same", "same person"
    DIFFERENT = "different", "different people"


class DuplicatePair(BaseModel):
    """Two people of one organization who may be the same person, waiting for a reviewer
    (``people.duplicates``). ``first`` and ``second`` are ordered by id, so a pair has one
    row. ``fields`` holds each field's level and weight (never a value). "Same person" links
    the two and names the one ``kept``; nothing is deleted, and undoing it reopens the pair.
    "Different people" is remembered: the pair is never proposed again."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    first = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField()
    fields = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=PairState.choices, default=PairState.OPEN)
    kept = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-weight", "id"]
        constraints = [models.UniqueConstraint(fields=["first", "second"], name="duplicate_pair"),
                       models.CheckConstraint(condition=models.Q(first__lt=models.F("second")),
                                              name="duplicate_pair_ordered")]
        indexes = [models.Index(fields=["organization", "state", "weight"],
                                name="duplicate_pair_queue")]

    def __str__(self) -> str:
        return f"duplicate pair {self.pk}"
