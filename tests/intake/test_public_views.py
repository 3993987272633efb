from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from haven.intake import wordlist
from haven.intake.models import CodenameHandoff, IntakeKey, Request
from haven.intake.public_views import COOKIE
from tests.intake.conftest import (
    CODENAME_RE,
    SUBMISSION,
    ask_for_help,
    codename_of,
    form_token,
    post_form,
)

pytestmark = pytest.mark.django_db

PAGES = ["/intake/", "/intake/ask/", "/intake/return/"]


def _post(client: Client, path: str, data: dict[str, str]) -> Any:
    if path == "/intake/ask/":
        return post_form(client, data)
    return client.post(path, data)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_pages_are_small_script_free_and_self_hosted(plain_key: IntakeKey, path: str,
                                                     language: str) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    css = finders.find("intake/intake.css")
    assert css is not None
    with open(css, "rb") as f:
        css_size = len(f.read())
    assert len(response.content) + css_size < 50 * 1024
    assert "<script" not in html
    assert "htmx" not in html
    for url in re.findall(r'(?:src|href|action)="([^"]+)"', html):
        assert url.startswith(("/", "#")) or url == "https://www.google.com/", url
    assert "Leave this page quickly" in html or "Быстро уйти" in html
    assert response["Cache-Control"] == "no-store"


def test_russian_page_has_russian_help_texts(plain_key: IntakeKey) -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE="ru").get("/intake/ask/").content.decode()
    assert 'lang="ru"' in html
    assert "Попросить о помощи" in html
    # Help texts with a number in them used to be translated once, at import, in English.
    assert "At most" not in html
    assert "For example a messenger" not in html
    assert "Не более 6000 символов. Не называйте" in html


def test_russian_errors_and_refusals(plain_key: IntakeKey) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    html = post_form(client, {**SUBMISSION, "contact": "", "story": "x" * 6001}
                     ).content.decode()
    assert "Обязательное поле" in html or "Это поле обязательно" in html
    assert "6000" in html
    assert "At most" not in html
    html = client.post("/intake/ask/", {**SUBMISSION, "form_token": "bad"}).content.decode()
    assert "Пока ничего не сохранено" in html
    assert "expired" not in html


def test_the_russian_interface_gives_a_russian_codename_which_logs_in_normalized(
        plain_key: IntakeKey) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    sent = post_form(client)
    page = client.get(sent["Location"]).content.decode()
    assert '<ol class="codename" data-testid="codename" lang="ru">' in page
    codename = codename_of(page)
    words = codename.split()
    assert len(words) == 7
    assert all(w in set(wordlist.words("ru")) for w in words)
    typed = "  ".join(f"{n}. {w.upper().replace('Ё', 'Е')}" for n, w in enumerate(words, 1))
    response = Client().post("/intake/return/", {"codename": typed})
    assert response.status_code == 303
    assert response["Location"] == "/intake/conversation/"
    # Seven words in the wrong order (read across two columns) open nothing.
    swapped = " ".join(words[1::2] + words[::2])
    assert Client().post("/intake/return/", {"codename": swapped})["Location"].endswith(
        "?failed=1")


def test_the_codename_page_is_a_numbered_list_with_a_print_card(plain_key: IntakeKey) -> None:
    client = Client()
    html = client.get(post_form(client)["Location"]).content.decode()
    assert html.count("<li><span>") == 7
    assert 'class="card-print"' in html
    css = finders.find("intake/intake.css")
    assert css is not None
    with open(css, encoding="utf-8") as f:
        style = f.read()
    assert "@media print" in style
    assert "list-style:decimal" in style


@pytest.mark.parametrize("path", ["/intake/", "/intake/ask/", "/intake/return/"])
def test_intake_pages_declare_a_self_hosted_favicon_and_root_has_one(plain_key: IntakeKey,
                                                                      path: str) -> None:
    html = Client().get(path).content.decode()
    found = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert found
    assert found.group(1).startswith("/static/intake/favicon")
    assert finders.find("intake/favicon.svg") is not None


def test_submit_redirects_and_shows_codename_once_never_in_url_or_cookie(
        plain_key: IntakeKey) -> None:
    client = Client()
    sent = post_form(client)
    assert sent.status_code == 303
    assert sent["Location"] == "/intake/received/"
    assert Request.objects.count() == 1
    shown = client.get("/intake/received/")
    assert shown.status_code == 200
    words = codename_of(shown.content.decode()).split()
    assert len(words) == 7
    whole_word = [re.compile(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])") for w in words]
    for response in (sent, shown):
        for morsel in response.cookies.values():
            assert not any(w.search(morsel.value) for w in whole_word)
    assert COOKIE not in sent.cookies
    # A reload shows it no more and sends nothing again. (Whole words only, and in order:
    # a short diceware word such as "form" may well be part of the page's own text.)
    again = client.get("/intake/received/")
    assert again.status_code == 410
    page = again.content.decode()
    assert CODENAME_RE.search(page) is None
    assert not re.search(r"\W+".join(re.escape(w) for w in words), page)
    assert Request.objects.count() == 1


def test_resending_the_same_form_stores_nothing_twice(plain_key: IntakeKey) -> None:
    client = Client()
    token = form_token(client)
    assert post_form(client, token=token).status_code == 303
    assert CodenameHandoff.objects.count() == 1  # stored with the request, in its transaction
    again = post_form(client, token=token)
    assert again.status_code == 409
    assert "already sent" in again.content.decode()
    assert Request.objects.count() == 1
    assert CodenameHandoff.objects.count() == 1


def test_codename_login_sets_only_a_random_session_cookie(plain_key: IntakeKey) -> None:
    client = Client()
    codename = ask_for_help(client)
    words = codename.split()
    response = _post(client, "/intake/return/", {"codename": codename})
    assert response.status_code == 303
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert not any(w in cookie.value for w in words)
    for morsel in client.cookies.values():
        assert codename not in morsel.value
        assert not any(w in morsel.value for w in words)
    page = client.get("/intake/conversation/")
    assert page.status_code == 200
    assert "No reply yet" in page.content.decode()
    sent = _post(client, "/intake/conversation/", {"body": "Here is more."})
    assert sent.status_code == 303
    assert "Here is more." in client.get("/intake/conversation/").content.decode()
    assert _post(client, "/intake/leave/", {}).status_code == 302
    assert client.get("/intake/conversation/").status_code == 302


def test_wrong_codename_gets_the_same_answer_after_a_redirect(plain_key: IntakeKey) -> None:
    _post(Client(), "/intake/ask/", SUBMISSION)
    client = Client()
    response = _post(client, "/intake/return/", {"codename": "abacus " * 7})
    assert response.status_code == 303
    assert "abacus" not in response["Location"]
    assert COOKIE not in response.cookies
    page = client.get(response["Location"])
    assert "does not open any conversation" in page.content.decode()


def test_conversation_without_session_redirects(plain_key: IntakeKey) -> None:
    client = Client()
    client.cookies[COOKIE] = "forged.cookie"
    assert client.get("/intake/conversation/").status_code == 302


@pytest.mark.parametrize(("data", "message"), [
    ({**SUBMISSION, "story": "x" * 6001}, "At most 6000 characters"),
    ({**SUBMISSION, "contact": ""}, "This field is required"),
    ({**SUBMISSION, "urgency": "later"}, "Select a valid choice"),
    ({}, "This field is required"),
])
def test_bad_input_gives_clear_error_and_no_write(plain_key: IntakeKey, data: dict[str, str],
                                                  message: str) -> None:
    response = _post(Client(), "/intake/ask/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Request.objects.exists()


def test_wrong_encoding_is_refused(plain_key: IntakeKey) -> None:
    body = b"contact=a&region=b&urgency=now&story=" + "ок".encode("koi8_r")
    response = Client().post("/intake/ask/", body,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not sent as UTF-8" in response.content.decode()
    escaped = b"contact=a&region=b&urgency=now&story=%CF%CB"
    response = Client().post("/intake/ask/", escaped,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert not Request.objects.exists()


def test_huge_upload_is_refused_before_reading(plain_key: IntakeKey) -> None:
    body = b"story=" + b"x" * (200 * 1024)
    response = Client().post("/intake/ask/", body,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "larger than 64 KB" in response.content.decode()
    assert not Request.objects.exists()


def test_file_upload_is_refused(plain_key: IntakeKey) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("passport.jpg", b"\xff\xd8" + b"0" * 1000)
    response = Client().post("/intake/ask/", {**SUBMISSION, "file": upload})
    assert response.status_code == 415
    assert not Request.objects.exists()


def test_rate_limit_gives_try_again_page(plain_key: IntakeKey, settings: Any) -> None:
    settings.HAVEN_INTAKE_RATE_PER_MINUTE = 2
    assert _post(Client(), "/intake/ask/", SUBMISSION).status_code == 303
    assert _post(Client(), "/intake/ask/", SUBMISSION).status_code == 303
    response = _post(Client(), "/intake/ask/", SUBMISSION)
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 60
    assert "try again in a few minutes" in response.content.decode()
    assert Request.objects.count() == 2


def test_no_room_on_disk_gives_the_disk_full_page(plain_key: IntakeKey, settings: Any) -> None:
    import shutil

    settings.HAVEN_INTAKE_DISK_RESERVE_MB = shutil.disk_usage(settings.DATA_DIR).free // 2**20 + 1
    response = _post(Client(), "/intake/ask/", SUBMISSION)
    assert response.status_code == 503
    assert "Retry-After" in response
    assert 'data-fault="disk_full"' in response.content.decode()
    assert Request.objects.count() == 0


def test_closed_intake(db: None) -> None:
    assert Client().get("/intake/ask/").status_code == 503
    assert "not taking requests" in Client().get("/intake/").content.decode()


def test_intake_only_urlconf_exposes_no_staff_route(plain_key: IntakeKey, settings: Any) -> None:
    settings.ROOT_URLCONF = "haven.intake_urls"
    client = Client()
    for path in ("/accounts/login/", "/inbox/", "/audit/", "/api/v1/me", "/api/v1/openapi.json",
                 "/api/v1/requests", "/admin/", "/keys/unseal/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.content.decode()
    assert client.get("/").status_code == 302
    assert client.get("/intake/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert _post(client, "/intake/ask/", SUBMISSION).status_code == 303


def test_intake_only_setting_selects_the_urlconf() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "HAVEN_INTAKE_ONLY": "1", "DJANGO_SETTINGS_MODULE": "haven.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.ROOT_URLCONF)"],
        env=env, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "haven.intake_urls"


def test_favicon_ico_is_served_for_browsers_that_ask_for_it(db: None) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
