"""Writes to people: create, erase (crypto-shred), attach a file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from django.db import transaction
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.services import record
from haven.cases.models import Document, Member, Task
from haven.core.errors import ValidationFailed
from haven.keyring import files, keys, normalize
from haven.keyring import services as keyring_services
from haven.pathways.models import Application, Travel
from haven.people import duplicates, name_index
from haven.people.models import IndexKind, Person, PersonFile, PersonIndex

MAX_NAME = 300
MAX_OTHER_NAMES = 1000
MAX_PHONE = 64
REINDEX_BATCH_NAMES = 500

logger = logging.getLogger(__name__)


def identity_clean(*, legal_name: str, other_names: str, phone: str) -> tuple[str, str, str]:
    """A person's names and phone, trimmed, or a ValidationFailed naming each bad field."""
    errors: dict[str, list[str]] = {}
    legal_name, other_names, phone = legal_name.strip(), other_names.strip(), phone.strip()
    too_long = _("At most %(n)d characters.")
    if not legal_name:
        errors["legal_name"] = [_("A legal name is required (in any script).")]
    elif len(legal_name) > MAX_NAME:
        errors["legal_name"] = [too_long % {"n": MAX_NAME}]
    if len(other_names) > MAX_OTHER_NAMES:
        errors["other_names"] = [too_long % {"n": MAX_OTHER_NAMES}]
    if len(phone) > MAX_PHONE:
        errors["phone"] = [too_long % {"n": MAX_PHONE}]
    elif phone and len(normalize.phone_digits(phone)) < 5:
        errors["phone"] = [_("A phone number needs at least 5 digits.")]
    if errors:
        raise ValidationFailed(_("The person's details are not valid: see fields."),
                               fields=errors)
    return legal_name, other_names, phone


def _index_rows(people: list[Person]) -> list[PersonIndex]:
    """The blind-index rows of ``people`` (their names and phones readable): one per name
    token, one for the phone digits. Keys are derived per organization, so the same name in
    two organizations has two unrelated digests. One agent call per organization and kind."""
    name, phone = IndexKind.NAME.value, IndexKind.PHONE.value  # plain strings: "org|name"
    wanted: dict[tuple[str, str], dict[str, None]] = {}
    plan: list[tuple[Person, str, list[str], str]] = []
    for person in people:
        org = str(person.organization_id)
        words = normalize.tokens(f"{person.legal_name} {person.other_names}")
        digits = normalize.phone_digits(person.phone)
        wanted.setdefault((org, name), {}).update(dict.fromkeys(words))
        if digits:
            wanted.setdefault((org, phone), {})[digits] = None
        plan.append((person, org, words, digits))
    digest: dict[tuple[str, str, str], bytes] = {}
    for (org, kind), values in wanted.items():
        ordered = list(values)
        digest.update({(org, kind, v): d for v, d in zip(
            ordered, keys.blind_indexes(f"{org}|{kind}", ordered), strict=True)})
    rows = []
    for person, org, words, digits in plan:
        rows += [PersonIndex(person=person, kind=IndexKind.NAME,
                             digest=digest[(org, name, w)]) for w in words]
        if digits:
            rows.append(PersonIndex(person=person, kind=IndexKind.PHONE,
                                    digest=digest[(org, phone, digits)]))
    return rows


def person_reindex(person: Person) -> None:
    """Replace the person's blind-index rows (``_index_rows``) and name tokens
    (``name_index``), in the caller's transaction: every write of a name calls this."""
    rows = _index_rows([person])
    PersonIndex.objects.filter(person=person).delete()
    PersonIndex.objects.bulk_create(rows)
    name_index.person_tokens_write(person)


def names_reindex(*, rotate: bool = False, batch: int = REINDEX_BATCH_NAMES,
                  progress: Callable[[name_index.RebuildProgress], None] | None = None
                  ) -> tuple[int, bool]:
    """Rebuild every person's name tokens in a new epoch when the matching rules changed,
    when ``rotate`` asks for a new token key (after ``haven keys rotate``) or when an earlier
    rebuild was interrupted; resumable (``name_index.rebuild``). Returns (people written,
    whether a rebuild ran); a rebuild that ran is recorded in the audit log with the count
    and the new epoch. An operator's command: it needs unsealed keys."""
    if batch < 1:
        raise ValidationFailed("The batch size must be at least 1.", fields={
            "batch": ["At least 1."]})
    done, ran = name_index.rebuild(rotate=rotate, batch=batch, progress=progress)
    if ran:
        with transaction.atomic():
            record(actor=None, action="people.names_reindexed", object_type="person", data={
                "people": done, "epoch": name_index.state().epoch, "rotated": rotate})
    return done, ran


REINDEX_BATCH = 500


def people_reindex(*, batch: int = REINDEX_BATCH) -> int:
    """Rebuild every person's blind-index rows from their decrypted names and phone, after
    the normalization rules changed (``haven people reindex``); the number of people done.

    Works through people in key order, ``batch`` at a time: their data keys in one agent
    call, their digests in one call per organization and kind, and their rows replaced in one
    transaction per batch, so an interrupted run leaves each person either all old or all
    new, and running it again finishes the job. People whose key was destroyed (being
    erased) are skipped. An operator's command, not a request: it needs unsealed keys, and
    writes one audit event with the count.
    """
    if batch < 1:
        raise ValidationFailed("The batch size must be at least 1.", fields={
            "batch": ["At least 1."]})
    done = 0
    last = None
    while True:
        page = Person.objects.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        people = list(page[:batch])
        if not people:
            break
        last = people[-1].pk
        readable = cast("list[Person]", keys.readable(people))
        rows = _index_rows(readable)
        with transaction.atomic():
            PersonIndex.objects.filter(person__in=readable).delete()
            PersonIndex.objects.bulk_create(rows, batch_size=2000)
        done += len(readable)
    with transaction.atomic():
        record(actor=None, action="people.reindexed", object_type="person", data={
            "people": done})
    return done


def person_create(*, actor: Any, legal_name: str, other_names: str = "", phone: str = ""
                  ) -> Person:
    """Register a person in the actor's organization, encrypted under a new data key.

    The person's own data key (not a shared one) is what makes erasing them final; the
    blind-index rows are written in the same transaction so a new person is findable at once.
    """
    policy.require(actor, Perm.PERSON_CREATE, actor.organization)
    legal_name, other_names, phone = identity_clean(legal_name=legal_name,
                                                    other_names=other_names, phone=phone)
    with transaction.atomic():
        person = Person(organization_id=actor.organization_id, created_by=actor)
        keys.data_key_create(person)
        person.legal_name = legal_name
        person.other_names = other_names
        person.phone = phone
        person.save()
        person_reindex(person)
        record(actor=actor, action="person.created", object_type="person", object_id=person.pk)
        # Every way a person is added (a new case, an intake request turned into a case, a
        # household member) comes through here; weighed once the caller's transaction, and
        # with it the profile written after this, has committed.
        transaction.on_commit(lambda: _look_for_duplicates(actor, person))
    return person


def _look_for_duplicates(actor: Any, person: Person) -> None:
    """Queue likely duplicates of a person just saved. The person is stored already, so a
    failure here (the key agent sealed or away) must not turn that acknowledged write into an
    error page that invites a second submission: it is logged, and the sweep
    (``haven people duplicates-sweep``) weighs the person later."""
    try:
        duplicates.duplicates_find(actor, person)
    except Exception:
        logger.exception("duplicate check of a new person failed; the sweep will retry it")


def _erase_case_records(person: Person) -> tuple[list[Any], dict[str, int]]:
    """Delete what other apps hold about ``person`` that the person's own key does not seal
    (a case's records are sealed under the case's key, so shredding the person's key leaves
    them readable): their documents, the tasks made for them, the journeys and bookings of
    nobody else, and on applications of nobody else what names them (the authority, its
    reference, the refusal reasons; the stages and dates stay for the outcome figures).
    Memberships, profiles, placements, applicant rows and their checklist ticks go with the
    person (cascade). Returns the stored files to remove after commit, and the counts."""
    members = list(Member.objects.filter(person=person).values_list("pk", flat=True))
    documents = Document.objects.filter(person=person)
    document_ids = list(documents.values_list("pk", flat=True))
    documents.delete()  # with them, their places among a booking's tickets
    tasks, _ = Task.objects.filter(person=person).delete()
    travels = [t.pk for t in Travel.objects.filter(members__in=members).distinct()
               if not t.members.exclude(pk__in=members).exists()]
    Travel.objects.filter(pk__in=travels).delete()  # bookings, steps, arrival with them
    applications = [a for a in Application.objects.filter(
        applicants__member__in=members).distinct().select_related("case")
        if not a.applicants.exclude(member__in=members).exists()]
    keys.prefetch(applications)
    for application in applications:
        application.submitted_to = application.external_reference = ""
        application.refusal_reasons = ""
        application.save(update_fields=["submitted_to", "external_reference", "refusal_reasons"])
    return document_ids, {"documents": len(document_ids), "tasks": tasks,
                          "journeys": len(travels), "applications": len(applications)}


def person_erase(*, actor: Any, person: Person) -> None:
    """Erase a person for good (coordinators only): crypto-shred their data key.

    Their data key is destroyed and every other key re-wrapped under a new KEK (see
    ``keyring.services.shred``), so their fields and files stay noise in every older backup.
    Rows and stored files are deleted too — their own and what their cases hold about them
    (``_erase_case_records``); the audit event keeps only the id and the counts.
    """
    policy.require(actor, Perm.PERSON_ERASE, person)
    file_ids = list(PersonFile.objects.filter(person=person).values_list("id", flat=True))
    person_id = person.pk
    with transaction.atomic():
        document_ids, counts = _erase_case_records(person)
        keyring_services.shred(owner=person.keyring_owner())
        Person.objects.filter(pk=person_id).delete()
        record(actor=actor, action="person.erased", object_type="person", object_id=person_id,
               data={"files": len(file_ids), **counts})

        def remove_files() -> None:
            for file_id in [*file_ids, *document_ids]:
                files.delete_stored(file_id)

        transaction.on_commit(remove_files)


def person_file_attach(*, actor: Any, person: Person, upload: files.EncryptedUpload
                       ) -> PersonFile:
    """Record a file that the encrypting upload handler already stored for ``person``.

    A file about a person is a document of their case: it takes ``document:upload`` on the
    person, that is a role that uploads documents and a case of theirs the actor works on
    (an operator, who opens cases but does not run them, may not attach files to anyone).
    """
    policy.require(actor, Perm.DOCUMENT_UPLOAD, person)
    with transaction.atomic():
        doc = PersonFile(id=upload.file_id, person=person, size=upload.size or 0,
                         uploaded_by=actor)
        doc.__dict__[keys.DK_ATTR] = keys.data_key_for(person)
        doc.name = (upload.name or "file")[:255]
        doc.content_type = (upload.content_type or "application/octet-stream")[:100]
        doc.save()
        record(actor=actor, action="person.file_added", object_type="person_file",
               object_id=doc.pk, data={"person": str(person.pk), "size": doc.size})
    return doc
