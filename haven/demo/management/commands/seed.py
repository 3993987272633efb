"""`haven seed --people N [--seed S]`: fill an organization with invented cases.

Everything is fiction: Russian and Chechen names in Cyrillic with Latin spellings as aliases,
households of one to five, cases spread over every status and priority, risk assessments,
notes, tasks, shelters and placements. The same ``--seed`` gives the same people, cases and
text (ids included); only timestamps and key material differ between runs.

It is built for volume: rows go in with ``bulk_create`` in batches of a thousand people, one
transaction each; the data keys of a batch are made in one agent call, and the blind indexes of
a batch are computed in one call. ``--jobs N`` seeds the batches in N processes at once (a
million people take minutes instead of an hour): each batch draws from a random source of its
own (``SEED/BATCH``) and places people only in its own share of the shelters, so the result is
the same whatever N is. ``--resume`` finishes an interrupted run of the same ``--people`` and
``--seed``: batches already in place (each is one transaction) are skipped. The server must
be unsealed (the fields are encrypted like any other,
through the real encrypted field types and blind indexes).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from haven.access.roles import Role
from haven.accounts.models import Organization, User
from haven.audit.services import record
from haven.cases.models import (
    OPEN,
    WORKING,
    Case,
    CaseType,
    ClosureReason,
    Member,
    Note,
    Outcome,
    PersonProfile,
    Priority,
    Referral,
    Relationship,
    RiskLevel,
    SharedField,
    Status,
    Task,
    TaskStatus,
    Visibility,
)
from haven.cases.rules import new_case_number, triage_score
from haven.core.errors import HavenError
from haven.demo import seeding  # applications, travel, outcomes
from haven.housing.models import Placement, PlacementStatus, Shelter, ShelterStatus
from haven.keyring import client, keys, normalize
from haven.keyring.models import DataKey
from haven.keyring.protocol import b64d
from haven.pathways import loader  # reference data
from haven.people import name_index
from haven.people.models import IndexKind, Person, PersonIndex, PersonNameToken

BATCH = 1000

MALE = [("Магомед", "Magomed"), ("Ислам", "Islam"), ("Рамзан", "Ramzan"), ("Ахмед", "Akhmed"),
        ("Муса", "Musa"), ("Зелимхан", "Zelimkhan"), ("Адам", "Adam"), ("Руслан", "Ruslan"),
        ("Тимур", "Timur"), ("Алихан", "Alikhan"), ("Иван", "Ivan"), ("Дмитрий", "Dmitry"),
        ("Алексей", "Aleksei"), ("Сергей", "Sergei"), ("Никита", "Nikita"), ("Артём", "Artyom"),
        ("Хасан", "Khasan"), ("Умар", "Umar"), ("Ибрагим", "Ibragim"), ("Саид", "Said")]
FEMALE = [("Аминат", "Aminat"), ("Хава", "Khava"), ("Зарема", "Zarema"), ("Малика", "Malika"),
          ("Седа", "Seda"), ("Петимат", "Petimat"), ("Мария", "Maria"), ("Анна", "Anna"),
          ("Екатерина", "Ekaterina"), ("Ольга", "Olga"), ("Наталья", "Natalya"),
          ("Ася", "Asya"), ("Луиза", "Luiza"), ("Элина", "Elina"), ("Дарья", "Darya")]
SURNAMES = [("Хасанов", "Khasanov"), ("Магомедов", "Magomedov"), ("Исаев", "Isaev"),
            ("Кадыров", "Kadyrov"), ("Умаров", "Umarov"), ("Абдулаев", "Abdulaev"),
            ("Дудаев", "Dudaev"), ("Масхадов", "Maskhadov"), ("Иванов", "Ivanov"),
            ("Петров", "Petrov"), ("Смирнов", "Smirnov"), ("Кузнецов", "Kuznetsov"),
            ("Попов", "Popov"), ("Соколов", "Sokolov"), ("Лебедев", "Lebedev"),
            ("Эльмурзаев", "Elmurzaev"), ("Висаитов", "Visaitov"), ("Гайрбеков", "Gairbekov")]
PLACES = ["Grozny", "Gudermes", "Argun", "Shali", "Urus-Martan", "Moscow", "St Petersburg",
          "Nalchik", "Makhachkala", "Vladikavkaz", "Rostov-on-Don", "Kazan"]
LANGUAGES = ["Chechen, Russian", "Russian", "Russian, English", "Chechen, Russian, Arabic",
             "Ingush, Russian"]
STORIES = ["Detained twice by local police and released after relatives paid.",
           "Outed by a relative; family threatened an 'honour' punishment.",
           "Phone searched at a checkpoint; contacts were called in for questioning.",
           "Lost job after colleagues reported them; landlord asked them to leave.",
           "Partner disappeared after arrest; fears being next."]
NOTES = ["Called on the secure line; safe for now.", "Asked for help with documents.",
         "Discussed destinations; prefers a country with family ties.",
         "Missed the agreed check-in; reached the next day.",
         "Needs medication refilled before travel."]
TASKS = ["Check passport validity", "Book train tickets", "Prepare visa application form",
         "Arrange a secure phone", "Confirm shelter arrival", "Collect medical records",
         "Schedule a check-in call"]
STATUS_WEIGHTS = [(Status.INTAKE, 14), (Status.VERIFICATION, 12), (Status.ACTIVE, 30),
                  (Status.READY, 8), (Status.DEPARTED, 5), (Status.ARRIVED, 6),
                  (Status.CLOSED, 12), (Status.ON_HOLD, 6), (Status.WITHDRAWN, 4),
                  (Status.SUSPENDED, 3)]
PRIORITY_WEIGHTS = [(Priority.EMERGENCY, 8), (Priority.URGENT, 27), (Priority.NORMAL, 65)]
# What the seeded referrals share with partners: a partial view of each shape.
SHARED_SETS: list[list[str]] = [
    [SharedField.STATUS],
    [SharedField.STATUS, SharedField.PRIORITY, SharedField.HOUSEHOLD_SIZE],
    [SharedField.CASE_TYPE, SharedField.HOUSEHOLD_SIZE, SharedField.NATIONALITY,
     SharedField.LANGUAGES],
]


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _data_keys(owners: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    """Data keys for many owners in one agent call, stored wrapped with one bulk insert.

    The same as ``keyring.keys.data_key_create`` for each owner, batched (the agent's
    ``new_dks`` takes a list); see docs/cases.md.
    """
    kek = keys.active_kek()
    made = client.call("new_dks", kek=keys.kek_ref(kek),
                       aads=[keys.dk_aad(owner) for owner in owners])["keys"]
    DataKey.objects.bulk_create([
        DataKey(owner_type=o[0], owner_id=o[1], kek=kek, wrapped=b64d(m["wrapped"]))
        for o, m in zip(owners, made, strict=True)])
    return {o: b64d(m["key"]) for o, m in zip(owners, made, strict=True)}


class Command(BaseCommand):
    help = "Fill an organization with invented people and cases (deterministic per --seed)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--people", type=int, required=True, help="how many people")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--org", default="", help="organization slug (default: the demo "
                            "organization, else the only one)")
        parser.add_argument("--jobs", type=int, default=1,
                            help="processes seeding at once (default 1; the result is the same)")
        parser.add_argument("--resume", action="store_true",
                            help="finish an interrupted run of the same --people and --seed")
        # One process of a --jobs run: which share of the batches ("INDEX/PARTS").
        parser.add_argument("--part", default="", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        people = int(options["people"])
        if not 1 <= people <= 2_000_000:
            raise CommandError("--people must be between 1 and 2,000,000.", returncode=2)
        org = self._org(options["org"])
        staff = {role: list(User.objects.filter(organization=org, role=role, is_active=True))
                 for role in Role}
        if not staff[Role.COORDINATOR] or not staff[Role.CASEWORKER]:
            raise CommandError("The organization needs at least one coordinator and one "
                               "caseworker (try `haven demo`).", returncode=2)
        if not 1 <= int(options["jobs"]) <= 16:
            raise CommandError("--jobs must be between 1 and 16.", returncode=2)
        if int(options["jobs"]) > 1 and connection.vendor == "sqlite":
            raise CommandError("--jobs needs PostgreSQL: SQLite takes one writer at a time, so "
                               "parallel seeders only wait for each other. Leave --jobs out.",
                               returncode=2)
        if options["part"]:
            index, _, parts = str(options["part"]).partition("/")
            made = Seeder(org, staff, options["seed"], resume=options["resume"]).part(
                people, int(index), int(parts))
            self.stdout.write(json.dumps(made))
            return
        started = time.monotonic()
        try:
            loader.load_reference_data(actor=None)
            counts = Seeder(org, staff, options["seed"], resume=options["resume"]).run(
                people, jobs=int(options["jobs"]))
            counts |= seeding.seed_applications(org, staff, options["seed"])
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        with transaction.atomic():
            record(actor=None, organization_id=org.pk, action="seed.loaded",
                   data={"seed": options["seed"], **counts})
        self.stdout.write(f"Seeded {counts['people']} people in {counts['cases']} cases, "
                          f"{counts['shelters']} shelters in {time.monotonic() - started:.1f}s.")

    def _org(self, slug: str) -> Organization:
        if slug:
            org = Organization.objects.filter(slug=slug).first()
        else:
            org = (Organization.objects.filter(is_demo=True).first()
                   or (Organization.objects.get() if Organization.objects.count() == 1 else None))
        if org is None:
            raise CommandError("No such organization (pass --org SLUG).", returncode=2)
        return org


class Seeder:
    def __init__(self, org: Organization, staff: dict[Role, list[User]], seed: int, *,
                 resume: bool = False) -> None:
        self.org = org
        self.resume = resume
        self.staff = staff
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - invented data, not secrets
        self.today = timezone.localdate()
        self.shelters: list[Shelter] = []  # the active ones, in code-name order
        self.open: list[Shelter] = []  # the current batch's share of them
        self.free: dict[Any, int] = {}

    def run(self, people: int, *, jobs: int = 1) -> dict[str, int]:
        n = max(2, people // 150)
        if self.resume and Shelter.objects.filter(organization=self.org,
                                                  code_name=f"Shelter {n:04d}").exists():
            self._load_shelters(n)
        else:
            self._shelters(n)
        made = self.part(people, 0, 1) if jobs <= 1 else self._in_processes(people, jobs)
        return {**made, "shelters": len(self.shelters)}

    def part(self, people: int, index: int, parts: int) -> dict[str, int]:
        """Batches ``index``, ``index + parts``, … of ``people``: one process's share."""
        if not self.shelters:
            self._load_shelters(max(2, people // 150))
        batches = -(-people // BATCH)
        made_people = cases = 0
        for batch in range(index, batches, parts):
            self.rng = random.Random(f"{self.seed}/{batch}")  # noqa: S311 - invented data
            share = len(self.shelters)
            self.open = self.shelters[batch * share // batches:(batch + 1) * share // batches]
            self.free = {s.pk: s.capacity for s in self.open}
            with transaction.atomic():
                p, c = self._batch(min(BATCH, people - batch * BATCH))
            made_people += p
            cases += c
        return {"people": made_people, "cases": cases}

    def _in_processes(self, people: int, jobs: int) -> dict[str, int]:
        """``haven seed --part i/jobs`` in ``jobs`` processes; their counts added up."""
        argv = [sys.executable, "-m", "haven", "seed", "--people", str(people),
                "--seed", str(self.seed), "--org", self.org.slug,
                *(["--resume"] if self.resume else [])]
        running = [subprocess.Popen([*argv, "--part", f"{i}/{jobs}"],  # noqa: S603 - our own command
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for i in range(jobs)]
        made = {"people": 0, "cases": 0}
        failed = []
        for process in running:
            out, err = process.communicate()
            if process.returncode != 0:
                failed.append(err.strip()[-2000:])
                continue
            for key, value in json.loads(out.strip().splitlines()[-1]).items():
                made[key] += int(value)
        if failed:
            raise CommandError("A seeding process failed; the batches it committed stay in "
                               f"place:\n{failed[0]}", returncode=1)
        return made

    def _load_shelters(self, n: int) -> None:
        """The shelters ``run`` made (a --part process did not make them)."""
        codes = [f"Shelter {i + 1:04d}" for i in range(n)]
        found = {s.code_name: s for s in Shelter.objects.filter(
            organization=self.org, code_name__in=codes).only("id", "code_name", "capacity",
                                                             "status")}
        if len(found) != n:
            raise CommandError("The shelters of this seed run are missing.", returncode=2)
        self.shelters = [found[c] for c in codes if found[c].status == ShelterStatus.ACTIVE]

    def _shelters(self, n: int) -> None:
        rows = [Shelter(id=_uuid(self.rng), organization=self.org, code_name=f"Shelter {i + 1:04d}",
                        capacity=self.rng.randint(4, 30),
                        status=ShelterStatus.COMPROMISED if i % 25 == 24 else ShelterStatus.ACTIVE)
                for i in range(n)]
        dks = _data_keys([s.keyring_owner() for s in rows])
        for s in rows:
            setattr(s, keys.DK_ATTR, dks[s.keyring_owner()])
            s.address = f"{self.rng.choice(PLACES)}, ul. {self.rng.randint(1, 200)}, " \
                        f"kv. {self.rng.randint(1, 300)}"
            s.coarse_place = self.rng.choice(PLACES)
        with transaction.atomic():
            Shelter.objects.bulk_create(rows)
        self.shelters = [s for s in rows if s.status == ShelterStatus.ACTIVE]

    def _name(self) -> tuple[str, str]:
        first = self.rng.choice(MALE if self.rng.random() < 0.6 else FEMALE)
        last = self.rng.choice(SURNAMES)
        return f"{first[0]} {last[0]}", f"{first[1]} {last[1]}"

    def _batch(self, budget: int) -> tuple[int, int]:  # noqa: PLR0915 - one batch, in order
        rng = self.rng
        persons: list[Person] = []
        profiles: list[PersonProfile] = []
        cases: list[Case] = []
        members: list[Member] = []
        household: list[tuple[Case, list[Person]]] = []
        while len(persons) < budget:
            size = min(budget - len(persons), rng.choice([1, 1, 1, 2, 2, 3, 4, 5]))
            case = Case(id=_uuid(rng), organization=self.org, number=new_case_number(rng),
                        case_type=rng.choice(CaseType.values),
                        priority=_pick(rng, PRIORITY_WEIGHTS), status=_pick(rng, STATUS_WEIGHTS),
                        opened_by=rng.choice(self.staff[Role.OPERATOR] or
                                             self.staff[Role.COORDINATOR]))
            group = [Person(id=_uuid(rng), organization=self.org) for _ in range(size)]
            household.append((case, group))
            cases.append(case)
            persons += group
        if self.resume and Case.objects.filter(pk=cases[0].pk).exists():
            return 0, 0  # this batch committed before the run was interrupted
        owners = [p.keyring_owner() for p in persons] + [c.keyring_owner() for c in cases]
        dks = _data_keys(owners)
        index_words: dict[str, None] = {}
        phones: dict[str, None] = {}
        tokens_of: dict[Any, tuple[list[str], str]] = {}
        for person in persons:
            setattr(person, keys.DK_ATTR, dks[person.keyring_owner()])
            cyr, lat = self._name()
            person.legal_name = cyr
            person.other_names = lat
            person.phone = f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)} " \
                           f"{rng.randint(10, 99)} {rng.randint(10, 99)}"
            words = normalize.tokens(f"{cyr} {lat}")
            digits = normalize.phone_digits(person.phone)
            tokens_of[person.pk] = (words, digits)
            index_words.update(dict.fromkeys(words))
            phones[digits] = None
            profile = PersonProfile(person=person)
            setattr(profile, keys.DK_ATTR, dks[person.keyring_owner()])
            profile.birth_date = f"{rng.randint(1965, 2005)}" + (
                f"-{rng.randint(1, 12):02d}" if rng.random() < 0.7 else "")
            profile.nationality = "Russian"
            profile.languages = rng.choice(LANGUAGES)
            profile.coarse_location = rng.choice(PLACES)
            profile.story = rng.choice(STORIES)
            profiles.append(profile)
        org = str(self.org.pk)
        word_list, phone_list = list(index_words), list(phones)
        word_digest = dict(zip(word_list, keys.blind_indexes(f"{org}|name", word_list),
                               strict=True))
        phone_digest = dict(zip(phone_list, keys.blind_indexes(f"{org}|phone", phone_list),
                                strict=True))
        index_rows = []
        for person in persons:
            words, digits = tokens_of[person.pk]
            index_rows += [PersonIndex(person=person, kind=IndexKind.NAME, digest=word_digest[w])
                           for w in words]
            index_rows.append(PersonIndex(person=person, kind=IndexKind.PHONE,
                                          digest=phone_digest[digits]))
        notes: list[Note] = []
        tasks: list[Task] = []
        placements: list[Placement] = []
        for case, group in household:
            self._shape(case, len(group))
            key = dks[case.keyring_owner()]
            setattr(case, keys.DK_ATTR, key)
            case.summary = f"{case.get_case_type_display()} from {rng.choice(PLACES)}"
            for i, person in enumerate(group):
                members.append(Member(id=_uuid(rng), case=case, person=person,
                                      relationship=Relationship.SELF if i == 0 else rng.choice(
                                          [Relationship.SPOUSE, Relationship.PARTNER,
                                           Relationship.CHILD, Relationship.PARENT,
                                           Relationship.SIBLING]),
                                      is_principal=i == 0, travels_with=rng.random() < 0.9,
                                      confidential_fields="sogi" if rng.random() < 0.3 else ""))
            for _ in range(rng.randint(0, 3)):
                note = Note(id=_uuid(rng), case=case, author=case.assigned_to or case.opened_by,
                            visibility=rng.choice([Visibility.TEAM] * 4 + [Visibility.COORDINATOR]))
                setattr(note, keys.DK_ATTR, key)
                note.body = rng.choice(NOTES)
                notes.append(note)
            if case.status in OPEN:
                for _ in range(rng.randint(0, 2)):
                    task = Task(id=_uuid(rng), case=case, assignee=case.assigned_to,
                                due=self.today + timedelta(days=rng.randint(-10, 30)),
                                priority=case.priority,
                                status=TaskStatus.OPEN if rng.random() < 0.7 else TaskStatus.DONE)
                    setattr(task, keys.DK_ATTR, key)
                    task.title = rng.choice(TASKS)
                    tasks.append(task)
            if case.status in (Status.ACTIVE, Status.READY) and rng.random() < 0.4:
                placements += self._place(case, group)
        Person.objects.bulk_create(persons, batch_size=500)
        PersonProfile.objects.bulk_create(profiles, batch_size=500)
        PersonIndex.objects.bulk_create(index_rows, batch_size=2000)
        PersonNameToken.objects.bulk_create(
            name_index.token_rows(persons, name_index.live_epochs()), batch_size=5000)
        Case.objects.bulk_create(cases, batch_size=500)
        Member.objects.bulk_create(members, batch_size=1000)
        Note.objects.bulk_create(notes, batch_size=500)
        Task.objects.bulk_create(tasks, batch_size=500)
        Placement.objects.bulk_create(placements, batch_size=500)
        Referral.objects.bulk_create(self._referrals(cases), batch_size=500)
        return len(persons), len(cases)

    def _referrals(self, cases: list[Case]) -> list[Referral]:
        """About one working case in ten referred to a partner liaison, each referral sharing
        one of ``SHARED_SETS`` in turn, so a liaison sees partial views of several shapes.
        Never a suspended or suspect case (``referral_create`` refuses those too). A random
        source of its own keeps the rest of the seed as it was."""
        liaisons = self.staff[Role.LIAISON]
        eligible = [c for c in cases if c.status in WORKING
                    and c.verification_outcome != Outcome.SUSPECT]
        if not liaisons or not eligible:
            return []
        rng = random.Random(f"{self.seed}/{eligible[0].pk}/referrals")  # noqa: S311 - invented data
        chosen = rng.sample(eligible, min(len(eligible),
                                          max(len(SHARED_SETS), len(eligible) // 10)))
        return [Referral(id=_uuid(rng), case=case, liaison=rng.choice(liaisons),
                         shared_fields=",".join(SHARED_SETS[n % len(SHARED_SETS)]),
                         created_by=case.opened_by)
                for n, case in enumerate(chosen)]

    def _shape(self, case: Case, size: int) -> None:
        """Make the case's fields agree with its status (verified if active, …)."""
        rng = self.rng
        late = case.status not in (Status.INTAKE, Status.VERIFICATION)
        if late:
            case.verification_outcome = rng.choice([Outcome.VERIFIED] * 4 + [Outcome.PARTIAL])
            case.risk_level = rng.choice(RiskLevel.values)
            case.next_review = self.today + timedelta(days=rng.randint(-5, 60))
        if late or rng.random() < 0.3:
            case.assigned_to = rng.choice(self.staff[Role.CASEWORKER])
        if case.status == Status.SUSPENDED and rng.random() < 0.5:
            case.verification_outcome = Outcome.SUSPECT
        if case.status in (Status.ON_HOLD, Status.SUSPENDED):
            case.paused_from = Status.ACTIVE
        if case.status == Status.CLOSED:
            case.closure_reason = rng.choice(ClosureReason.values)
            case.closed_at = timezone.now()
        case.triage_score = triage_score(case.priority, case.risk_level, size)

    def _place(self, case: Case, group: list[Person]) -> list[Placement]:
        open_shelters = [s for s in self.open if self.free[s.pk] >= len(group)]
        if not open_shelters:
            return []
        shelter = self.rng.choice(open_shelters)
        self.free[shelter.pk] -= len(group)
        return [Placement(id=_uuid(self.rng), shelter=shelter, case=case, person=p,
                          status=PlacementStatus.ACTIVE, moved_in=self.today) for p in group]
