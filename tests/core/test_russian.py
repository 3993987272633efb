"""Staff pages read in Russian from top to bottom: no English label, no internal code.

Every page is rendered in Russian for every role that may open it, with Cyrillic data, and
its visible text (codes in <code> elements aside) must hold no Latin word but usernames
and a few names that stay as they are.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts.models import User
from haven.cases import services as cases
from haven.cases.models import Case, Method, Outcome, Priority, Relationship, RiskLevel, Status
from haven.housing import services as housing
from tests.conftest import log_in

TAGS = re.compile(r"<(script|style|code|title)[^>]*>.*?</\1>|<[^>]+>", re.S)
LATIN = re.compile(r"[A-Za-z][A-Za-z'’]+")
# Names that are not translated: the product, the other language's own name, time zone,
# acronyms; usernames are added per test.
KEPT = {"Haven", "English", "UTC", "API", "PDF", "CSV"}


def latin_words(html: str) -> set[str]:
    """Latin words people read on the page: the header and the main part, not markup."""
    header = re.search(r"<header.*?</header>", html, re.S)
    main = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    text = (header.group(0) if header else "") + (main.group(1) if main else "")
    text = re.sub(r"&[a-z#0-9]+;", " ", TAGS.sub(" ", text))
    text = re.sub(r"HV-[0-9A-Z]{4}-[0-9A-Z]{4}", " ", text)  # case numbers
    return set(LATIN.findall(text))


@pytest.fixture
def world(operator: User, verifier: User, coordinator: User, caseworker: User,
          liaison: User) -> Case:
    """A case that went through most of what a case page shows: verification by video call,
    an assignment, a risk assessment, a second member with a confidential field, a note, an
    emergency task, a referral and a placement."""
    case = cases.case_open(actor=operator, legal_name="Магомед Хасанов",
                           phone="+7 928 000 11 22")
    verification = cases.verification_request(actor=operator, case=case, verifier=verifier)
    cases.verification_submit(actor=verifier, verification=verification,
                              outcome=Outcome.VERIFIED,
                              methods=[Method.VIDEO_CALL, Method.STORY_CHECK],
                              narrative="Проверено по видео")
    cases.verification_approve(actor=coordinator, verification=verification)
    cases.case_assign(actor=coordinator, case=case, assignee=caseworker)
    cases.case_transition(actor=caseworker, case=case, to=Status.ACTIVE)
    cases.member_add(actor=caseworker, case=case, legal_name="Зарема",
                     relationship=Relationship.SPOUSE, confidential_fields=["sogi"])
    cases.risk_assess(actor=caseworker, case=case, immediacy=RiskLevel.IMMINENT,
                      recommended_priority=Priority.EMERGENCY,
                      next_review=timezone.localdate() + timedelta(days=5))
    cases.case_update(actor=coordinator, case=case, priority=Priority.EMERGENCY)
    cases.note_add(actor=caseworker, case=case, body="Заметка")
    cases.task_create(actor=caseworker, case=case, title="Найти адвоката",
                      priority=Priority.EMERGENCY, due=timezone.localdate() - timedelta(days=1))
    cases.referral_create(actor=coordinator, case=case, liaison=liaison,
                          shared_fields=["status", "priority"])
    shelter = housing.shelter_create(actor=coordinator, code_name="Берёза", address="адрес",
                                     capacity=3)
    housing.placement_create(actor=caseworker, case=case, person=case.members.first().person,
                             shelter=shelter, planned_in=timezone.localdate())
    case.refresh_from_db()
    return case


@pytest.mark.parametrize(("role", "pages"), [
    ("coordinator", ["/", "/cases/{case}/", "/cases/{case}/people/{person}/", "/audit/",
                     "/keyring/seal/", "/cases/tasks/"]),
    ("caseworker", ["/", "/cases/{case}/", "/cases/{case}/people/{person}/", "/cases/tasks/"]),
    ("operator", ["/", "/cases/{case}/"]),
    ("verifier", ["/", "/cases/{case}/"]),
    ("liaison", ["/"]),
    ("auditor", ["/", "/audit/", "/accounts/staff/"]),
])
def test_staff_pages_are_russian_throughout(world: Case, request: pytest.FixtureRequest,
                                            role: str, pages: list[str]) -> None:
    user = request.getfixturevalue(role)
    client = log_in(Client(HTTP_ACCEPT_LANGUAGE="ru"), user)
    kept = KEPT | set(User.objects.values_list("username", flat=True))
    person = world.members.get(is_principal=True).person_id
    leaks: dict[str, set[str]] = {}
    for page in pages:
        url = page.format(case=world.pk, person=person)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="ru">' in html
        english = latin_words(html) - kept
        if english:
            leaks[url] = english
    assert leaks == {}


def test_the_check_finds_english(world: Case) -> None:
    assert latin_words("<main><p>Мои дела</p><code>case.opened</code></main>") == set()
    assert latin_words("<main><p>verifier=1d46 · Мои</p></main>") == {"verifier"}
