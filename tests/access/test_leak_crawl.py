"""The leak crawl: marker people no role may see, every page and operation, no marker anywhere.

The route matrix proves who may *call* a route; this proves what routes *return*. An
organization is filled with cases whose every identifying string is a marker — names,
phones, case numbers, ids, story, notes, tasks, file names and contents, shelter addresses,
review dates, intake requests — spread so that each role has cases it must not see: another
caseworker's case, a suspended one, a suspect one, an unreferred one, one referred to another
partner, a person who belongs to no case, and another organization's case. Then, as each
role, ``tests.access.crawl`` walks every page and every API operation (found from the URL
resolver and the OpenAPI document), with the markers' own ids and the ids of records the user
may see, every list with every filter and search term, every write with bodies aimed at the
markers. A marker the user may not see in any answer, body or header, fails the test; so does
a write that changes a hidden record.

What each role may see of each case is written here from the table in docs/architecture.md ("Who uses it"), not computed
from ``haven.access.policy``: the crawl is an independent witness of the policy.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.access import policy
from haven.access.roles import Role
from haven.accounts import services as account_services
from haven.accounts.models import Organization, User
from haven.cases import services as case_services
from haven.cases.models import (
    Case,
    Document,
    Member,
    Method,
    Note,
    Outcome,
    PersonProfile,
    Priority,
    Referral,
    Relationship,
    RiskAssessment,
    RiskLevel,
    SharedField,
    Status,
    Task,
    Verification,
)
from haven.housing import services as housing_services
from haven.housing.models import Placement
from haven.intake import services as intake_services
from haven.intake.models import Message, Request
from haven.keyring.models import DataKey
from haven.pathways import services as pathway_services
from haven.pathways.models import Application, DossierExport, Pathway, PathwayStatus, Travel
from haven.people import services as people_services
from haven.people.models import DuplicatePair, Person, PersonFile
from tests.access.crawl import Bundle, Crawl
from tests.conftest import log_in
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.slow
# Each role's crawl appends one line here (how many pages and operations, how long, leaks).
REPORT = Path("test-artifacts") / "leak-crawl.txt"

# Categories of marker strings. A viewer's *view* of a bundle allows some of them.
IDS = frozenset({"case_id", "person_id", "note_id", "task_id", "verification_id",
                 "document_id", "file_id", "placement_id", "application_id", "request_id",
                 "pair_id"})
EVERYTHING = IDS | {"number", "name", "phone", "profile", "nationality", "note", "task",
                    "risk", "review", "document", "summary", "request"}
ALLOWED: dict[str, frozenset[str]] = {
    # Those who work the case with its people (coordinators, its caseworker, its verifier).
    "full": EVERYTHING,
    # The operator who opened the case: its number and household (masked), the case team's
    # notes and tasks; not the people's details, risk, review date or documents.
    "opener": frozenset({"case_id", "person_id", "number", "note", "note_id", "task",
                         "task_id", "verification_id"}),
    # A partner: the case number and what the referral shares (see the bundles' `shared`).
    "referral": frozenset({"case_id", "number"}),
    # The auditor: ids and states in the audit log (a review date is a state of the case),
    # and the log names cases by their number (issue 14, item 7: "cases by number"; a case
    # number is not personal data, architecture.md "Audit chain").
    "auditor": IDS | {"review", "number"},
    # The hotline's inbox: a request's whole conversation, for operators and coordinators.
    "inbox": frozenset({"request", "request_id"}),
}


@dataclass
class Marker:
    """What was made for one bundle, kept for the fingerprint of hidden records."""

    bundle: Bundle
    cases: list[Any]
    people: list[Any]
    requests: list[Any]


def signed_in(user: User) -> Client:
    """A client logged in through the real pages. A TOTP code is accepted once, so the device
    forgets the code it last took (as in the next 30-second window)."""
    TOTPDevice.objects.filter(user=user).update(last_t=-1)
    return log_in(Client(raise_request_exception=False), user)


def _tag_phone(n: int) -> str:
    return f"+7 900 {n:03d} {n % 100:02d} {(n * 7) % 100:02d}"


class World:
    """The organization of markers and the staff who look at it."""

    def __init__(self, org: Organization, other_org: Organization, staff: dict[str, User]
                 ) -> None:
        self.org, self.other_org, self.staff = org, other_org, staff
        self.bundles: dict[str, Bundle] = {}
        self.markers: dict[str, Marker] = {}
        self._n = 0
        self.pathway = Pathway.objects.exclude(status=PathwayStatus.CLOSED).order_by("slug").first()
        assert self.pathway is not None, "migrations load the reference pathways"

    # -- building

    def _new_tokens(self, tag: str) -> dict[str, Any]:
        self._n += 1
        word = f"qz{tag}"
        return {"legal_name": f"Ulyana {word.capitalize()}ova", "other_names": f"{word}ina",
                "phone": _tag_phone(self._n), "word": word}

    def case(self, name: str, *, org: Organization | None = None, opener: User,
             caseworker: User | None = None, verifier: User | None = None,
             outcome: str = Outcome.VERIFIED, refer: tuple[User, list[str]] | None = None,
             suspend: bool = False, records: bool = True) -> Bundle:
        """A case whose every string is a marker of ``name``, opened and worked through the
        services as staff would: household, profile, verification, risk, note, task,
        document, person file, shelter placement, application, travel, dossier request."""
        org = org or self.org
        coordinator = self.staff["coordinator"] if org == self.org else self.staff["outsider"]
        t = self._new_tokens(name)
        case = case_services.case_open(actor=opener, legal_name=t["legal_name"],
                                       other_names=t["other_names"], phone=t["phone"],
                                       priority=Priority.URGENT,
                                       summary=f"summary-{name}-secret")
        principal = case.members.get().person
        spouse_tokens = self._new_tokens(f"{name}sp")
        spouse = case_services.member_add(
            actor=coordinator, case=case, legal_name=spouse_tokens["legal_name"],
            phone=spouse_tokens["phone"], relationship=Relationship.SPOUSE,
            confidential_fields=["sogi"]).person
        case_services.profile_update(actor=coordinator, case=case, person=principal,
                                     story=f"story-{name}-secret", nationality=f"natio{name}",
                                     languages=f"lang{name}", coarse_location=f"place{name}")
        first, second = sorted((principal, spouse), key=lambda p: p.pk.int)
        pair = DuplicatePair.objects.create(organization=org, first=first, second=second,
                                            weight=12.0, fields=[{"field": "name",
                                                                  "level": "possible",
                                                                  "weight": 1.6}])
        bundle = Bundle(name, ids={"case": str(case.pk), "person": str(principal.pk),
                                   "pair": str(pair.pk)},
                        organization=str(org.pk))
        tokens: dict[str, list[str]] = {
            "case_id": [str(case.pk)], "number": [case.number],
            "person_id": [str(principal.pk), str(spouse.pk)],
            "pair_id": [str(pair.pk)],
            "name": [t["word"], f"{t['word']}ova", f"{name}spova"],
            "phone": [t["phone"], t["phone"].replace(" ", "").lstrip("+"),
                      spouse_tokens["phone"]],
            "profile": [f"story-{name}-secret", f"place{name}"],
            "nationality": [f"natio{name}"],
            "summary": [f"summary-{name}-secret"],
        }
        if caseworker is not None:
            case_services.case_assign(actor=coordinator, case=case, assignee=caseworker)
            bundle.ids["staff"] = str(caseworker.pk)
        if records:
            self._records(bundle=bundle, case=case, principal=principal, tokens=tokens,
                          coordinator=coordinator, name=name)
        if verifier is not None:
            verification = case_services.verification_request(actor=coordinator, case=case,
                                                              verifier=verifier)
            case_services.verification_submit(actor=verifier, verification=verification,
                                              outcome=outcome, methods=[Method.VIDEO_CALL],
                                              narrative=f"narrative-{name}-secret")
            if outcome == Outcome.VERIFIED:
                case_services.verification_approve(actor=coordinator, verification=verification)
            bundle.ids["verification"] = str(verification.pk)
            tokens["verification_id"] = [str(verification.pk)]
            tokens["note"] = [f"narrative-{name}-secret"]
            case.refresh_from_db()
        if refer is not None:
            liaison, shared = refer
            case_services.referral_create(actor=coordinator, case=case, liaison=liaison,
                                          shared_fields=shared)
        if suspend:
            case_services.case_transition(actor=coordinator, case=case, to=Status.SUSPENDED)
        bundle.tokens = tokens
        bundle.search = [t["word"], t["phone"], case.number]
        self.bundles[name] = bundle
        self.markers[name] = Marker(bundle, [case], [principal, spouse], [])
        return bundle

    def _records(self, *, bundle: Bundle, case: Case, principal: Any,
                 tokens: dict[str, list[str]], coordinator: User, name: str) -> None:
        review = timezone.localdate() + timedelta(days=400 + self._n)
        case_services.risk_assess(actor=coordinator, case=case, immediacy=RiskLevel.HIGH,
                                  recommended_priority=Priority.URGENT, next_review=review,
                                  threat_actors=f"threat-{name}-secret")
        note = case_services.note_add(actor=coordinator, case=case, body=f"note-{name}-secret")
        task = case_services.task_create(actor=coordinator, case=case,
                                         title=f"task-{name}-secret",
                                         due=timezone.localdate() - timedelta(days=1),
                                         assignee=case.assigned_to)
        client = signed_in(coordinator)
        upload = io.BytesIO(f"document-{name}-content".encode())
        upload.name = f"doc{name}.pdf"
        response = client.post(f"/cases/{case.pk}/documents/", {"doc_type": "passport",
                                                                "person": principal.pk,
                                                                "file": upload})
        assert response.status_code == 302, response.content
        document = Document.objects.get(case=case)
        raw, _ = account_services.token_create(actor=None, user=coordinator, name="world")
        upload = io.BytesIO(f"personfile-{name}-content".encode())
        upload.name = f"file{name}.pdf"
        response = Client(headers={"Authorization": f"Bearer {raw}"}).post(
            f"/api/v1/people/{principal.pk}/files", {"file": upload})
        assert response.status_code == 201, response.content
        person_file = PersonFile.objects.get(person=principal)
        shelter = housing_services.shelter_create(actor=coordinator, code_name=f"S-{name}",
                                                  address=f"ulitsa {name}addr 77", capacity=10)
        placement = housing_services.placement_create(actor=coordinator, case=case,
                                                      person=principal, shelter=shelter)
        application = pathway_services.application_create(actor=coordinator, case=case,
                                                          pathway=self.pathway)
        travel = pathway_services.travel_plan(actor=coordinator, case=case,
                                              route=f"route-{name}-secret")
        booking = pathway_services.booking_add(actor=coordinator, travel=travel,
                                               carrier=f"carrier-{name}-secret",
                                               number=f"BK{name}77", reference=f"PNR{name}")
        dossier = pathway_services.dossier_request(actor=coordinator, application=application,
                                                   fields=["legal_name"])
        pathway_services.dossier_approve(actor=coordinator, export=dossier)
        bundle.ids |= {"note": str(note.pk), "task": str(task.pk),
                       "document": str(document.pk), "file": str(person_file.pk),
                       "shelter": str(shelter.pk), "placement": str(placement.pk),
                       "application": str(application.pk), "travel": str(travel.pk),
                       "dossier": str(dossier.pk), "booking": str(booking.pk)}
        tokens["note"] = [*tokens.get("note", []), f"note-{name}-secret"]
        tokens["note_id"] = [str(note.pk)]
        tokens["task"] = [f"task-{name}-secret"]
        tokens["task_id"] = [str(task.pk)]
        tokens["risk"] = [f"threat-{name}-secret", f"route-{name}-secret",
                          f"carrier-{name}-secret", f"pnr{name}"]
        # The case's own review date is made overdue (as time would), so that dashboards
        # list it under "reviews due": a date nothing else in the world has.
        overdue = timezone.localdate() - timedelta(days=30 + self._n)
        Case.objects.filter(pk=case.pk).update(next_review=overdue)
        tokens["review"] = [review.isoformat(), overdue.isoformat()]
        tokens["document"] = [f"document-{name}-content", f"doc{name}.pdf",
                              f"personfile-{name}-content", f"file{name}.pdf"]
        tokens["document_id"] = [str(document.pk)]
        tokens["file_id"] = [str(person_file.pk)]
        tokens["placement_id"] = [str(placement.pk)]
        tokens["application_id"] = [str(application.pk), str(travel.pk), str(dossier.pk)]
        tokens["address"] = [f"{name}addr"]

    def orphan(self, name: str) -> Bundle:
        """A person who belongs to no case (registered, not yet opened as a case)."""
        t = self._new_tokens(name)
        person = people_services.person_create(actor=self.staff["coordinator"],
                                               legal_name=t["legal_name"], phone=t["phone"])
        bundle = Bundle(name, ids={"person": str(person.pk)}, organization=str(self.org.pk),
                        tokens={"person_id": [str(person.pk)], "name": [t["word"]],
                                "phone": [t["phone"], t["phone"].replace(" ", "").lstrip("+")]},
                        search=[t["word"], t["phone"]])
        self.bundles[name] = bundle
        self.markers[name] = Marker(bundle, [], [person], [])
        return bundle

    def request(self, name: str, org: Organization) -> Bundle:
        """An intake request with a reply: the hotline's inbox of ``org``."""
        key = intake_services.intake_key_create(actor=None, organization=org)
        submitted = intake_services.request_submit(
            intake_key=key, contact=f"signal-{name}-contact", region=f"region{name}",
            story=f"request-{name}-story", urgency="now", language="en")
        coordinator = self.staff["coordinator"] if org == self.org else self.staff["outsider"]
        intake_services.request_reply(actor=coordinator, request=submitted.request,
                                      body=f"reply-{name}-body")
        req = submitted.request
        bundle = Bundle(name, ids={"request": str(req.pk)}, organization=str(org.pk),
                        tokens={"request_id": [str(req.pk)],
                                "request": [f"signal-{name}-contact", f"request-{name}-story",
                                            f"reply-{name}-body"]},
                        search=[f"request-{name}-story"])
        self.bundles[name] = bundle
        self.markers[name] = Marker(bundle, [], [], [req])
        return bundle

    # -- hidden records

    def fingerprint(self, names: set[str]) -> Any:
        """Every stored value of the hidden bundles' records (and their data keys), to tell
        whether a write touched any of them."""
        cases = [c.pk for n in names for c in self.markers[n].cases]
        people = [p.pk for n in names for p in self.markers[n].people]
        requests = [r.pk for n in names for r in self.markers[n].requests]

        def rows(qs: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(sorted((k, repr(v)) for k, v in row.items()))
                          for row in qs.values())

        return [
            rows(Case.objects.filter(pk__in=cases)),
            rows(Member.objects.filter(case__in=cases)),
            rows(Member.objects.filter(person__in=people)),
            rows(Person.objects.filter(pk__in=people)),
            rows(PersonProfile.objects.filter(person__in=people)),
            rows(PersonFile.objects.filter(person__in=people)),
            rows(Verification.objects.filter(case__in=cases)),
            rows(RiskAssessment.objects.filter(case__in=cases)),
            rows(Note.objects.filter(case__in=cases)),
            rows(Task.objects.filter(case__in=cases)),
            rows(Document.objects.filter(case__in=cases)),
            rows(Referral.objects.filter(case__in=cases)),
            rows(Placement.objects.filter(person__in=people)),
            rows(Application.objects.filter(case__in=cases)),
            rows(Travel.objects.filter(case__in=cases)),
            rows(DossierExport.objects.filter(case__in=cases)),
            rows(Request.objects.filter(pk__in=requests)),
            rows(Message.objects.filter(request__in=requests)),
            rows(DataKey.objects.filter(owner_id__in=[str(i) for i in [*cases, *people]])),
        ]


# --- who may see what (docs/architecture.md "Who uses it"; docs/cases.md "Who sees what") -------------------

# viewer → bundle → view ("full", "opener", "referral", "auditor", "inbox"); a bundle not
# named is hidden from the viewer entirely.
VIEWS: dict[str, dict[str, str]] = {
    "coordinator": dict.fromkeys(("visible", "shared", "other", "suspended", "suspect", "unreferred", "orphan"), "full") | {"inbox": "inbox"},
    "caseworker": {"visible": "full", "shared": "full"},
    "other_caseworker": {"other": "full"},
    "idle_caseworker": {},
    "operator": {"visible": "opener", "shared": "opener", "inbox": "inbox"},
    "verifier": {"visible": "full"},
    "liaison": {"visible": "referral", "shared": "referral"},
    "auditor": dict.fromkeys(("visible", "shared", "other", "suspended", "suspect", "unreferred", "orphan", "inbox"), "auditor"),
    "outsider": {"foreign": "full", "foreign_inbox": "inbox"},
}
# What each referral shares, and the marker categories that sharing makes visible.
REFERRALS = {"visible": [SharedField.STATUS],
             "shared": [SharedField.HOUSEHOLD_SIZE, SharedField.NATIONALITY,
                        SharedField.PRIORITY]}
SHARED_CATEGORIES = {SharedField.NATIONALITY: "nationality"}
# Exact shelter addresses: coordinators of the shelter's organization only.
ADDRESS_READERS = {"coordinator": {"visible", "shared", "other", "suspended", "suspect",
                                   "unreferred"},
                   "outsider": {"foreign"}}


def forbidden_for(viewer: str, world: World) -> dict[str, str]:
    """Every marker string the viewer may not see → a description of it."""
    views = VIEWS[viewer]
    forbidden: dict[str, str] = {}
    for name, bundle in world.bundles.items():
        view = views.get(name)
        allowed = set(ALLOWED[view]) if view else set()
        if view == "referral":
            allowed |= {SHARED_CATEGORIES[f] for f in REFERRALS[name] if f in SHARED_CATEGORIES}
        if name in ADDRESS_READERS.get(viewer, set()):
            allowed.add("address")
        for category, strings in bundle.tokens.items():
            if category in allowed:
                continue
            for s in strings:
                key = s.lower()
                forbidden[key] = f"{name}'s {category} {s!r}"
                if category.endswith("_id"):
                    forbidden[key[:8]] = f"{name}'s {category} {s!r} (shortened)"
    # Colleagues' accounts: a partner sees no staff member; another organization nobody.
    if viewer in {"liaison", "outsider"}:
        me = world.staff[viewer]
        for colleague in world.staff.values():
            if colleague.organization_id == world.org.pk and colleague.pk != me.pk:
                forbidden[str(colleague.pk).lower()] = f"staff id of {colleague.username}"
    return forbidden


def hidden_for(viewer: str, world: World) -> set[str]:
    """The bundles whose records the viewer may not see (an auditor sees ids in the audit
    log, but no record)."""
    return {name for name in world.bundles if VIEWS[viewer].get(name) in {None, "auditor"}}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    """Cheap password hashing and intake costs: neither is under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAVEN_INTAKE_KDF_LOG2_N = 10
    settings.HAVEN_INTAKE_RATE_PER_MINUTE = 100_000
    settings.HAVEN_INTAKE_ORG = "test-org"  # two organizations have an intake: this one serves
    cache.clear()


@pytest.fixture
def world(request: pytest.FixtureRequest, org: Organization, other_org: Organization) -> World:
    def staff(username: str, role: Role, organization: Organization = org) -> User:
        return UserFactory(username=username, organization=organization, role=role,
                           enrolled=True)

    people: dict[str, User] = {name: request.getfixturevalue(name) for name in (
        "coordinator", "caseworker", "other_caseworker", "operator", "verifier", "liaison",
        "auditor", "outsider")}
    people |= {
        "idle_caseworker": staff("idle_caseworker", Role.CASEWORKER),
        "other_operator": staff("other_operator", Role.OPERATOR),
        "other_verifier": staff("other_verifier", Role.VERIFIER),
        "other_liaison": staff("other_liaison", Role.LIAISON),
    }
    coordinator, operator, caseworker = (people[n] for n in ("coordinator", "operator",
                                                             "caseworker"))
    verifier, liaison, outsider = (people[n] for n in ("verifier", "liaison", "outsider"))
    other_caseworker = people["other_caseworker"]
    w = World(org, other_org, people)
    w.case("visible", opener=operator, caseworker=caseworker, verifier=verifier,
           refer=(liaison, REFERRALS["visible"]))
    w.case("shared", opener=operator, caseworker=caseworker,
           refer=(liaison, REFERRALS["shared"]), records=False)
    w.case("other", opener=people["other_operator"], caseworker=other_caseworker,
           verifier=people["other_verifier"],
           refer=(people["other_liaison"], [SharedField.STATUS, SharedField.PRIORITY]))
    w.case("suspended", opener=operator, caseworker=caseworker, verifier=verifier,
           refer=(liaison, [SharedField.STATUS, SharedField.NATIONALITY]), suspend=True)
    w.case("suspect", opener=operator, caseworker=caseworker, verifier=verifier,
           outcome=Outcome.SUSPECT)
    w.case("unreferred", opener=coordinator)
    w.orphan("orphan")
    w.case("foreign", org=other_org, opener=outsider, records=True)
    w.request("inbox", org)
    w.request("foreign_inbox", other_org)
    return w


# --- the crawl -----------------------------------------------------------------------------------


def crawl_as(viewer: str, world: World) -> tuple[str, list[str]]:
    """Crawl everything as ``viewer``; a line saying how much was walked, and the leaks."""
    user = world.staff[viewer]
    raw, _ = account_services.token_create(actor=None, user=user, name="crawl")
    hidden = hidden_for(viewer, world)
    bundles = list(world.bundles.values())
    crawl = Crawl(
        pages=signed_in(user),
        api=Client(headers={"Authorization": f"Bearer {raw}"}, raise_request_exception=False),
        bundles=bundles, hidden=hidden, forbidden=forbidden_for(viewer, world),
        fingerprint=lambda: world.fingerprint(hidden),
        extras={"slug": world.pathway.slug, "action": "disable", "token": str(user.pk),
                "key": "1"},
        perms=policy.role_perms(user), organization=str(user.organization_id))
    # Lists are searched for what the user may not see: their own records are on the
    # unfiltered lists anyway.
    terms = [term for b in bundles if b.name in hidden for term in b.search]
    ids = [b.ids[k] for b in bundles if b.name in hidden
           for k in ("case", "person", "request") if k in b.ids]
    started = time.monotonic()
    crawl.crawl_pages(terms, ids)
    crawl.crawl_api(terms, ids)
    tally = crawl.tally
    summary = (f"{viewer}: {tally.pages} page requests, {tally.operations} API requests "
               f"({tally.writes} of them writes), {tally.compared} more to compare with a "
               f"missing record or an unknown name, in {time.monotonic() - started:.1f}s; "
               f"{len(tally.findings)} leaks")
    assert tally.pages > 100, summary  # it did walk
    assert tally.operations > 50, summary
    return summary, [f"{viewer}: {finding}" for finding in tally.findings]


def test_no_role_sees_a_marker_it_may_not_see(world: World) -> None:
    """One world, every role in turn (building the world once keeps ``make test`` fast)."""
    summaries, leaks = [], []
    for viewer in VIEWS:
        summary, found = crawl_as(viewer, world)
        summaries.append(summary)
        leaks += found
    report = "\n".join(summaries)
    print(report)  # noqa: T201 - the crawl's size is part of what it shows
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(report + "\n", encoding="utf-8")
    assert not leaks, report + "\n" + "\n".join(leaks[:100])
