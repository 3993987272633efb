"""Finding 8: a copy of the database alone must not let anyone act as staff.

A new caseworker enrols through the pages (so the test knows their authenticator secret and
recovery codes only as a person does, from the screen), staff are signed in and hold an API
token; then the database is copied (SQLite: the file, through SQLite's backup API; PostgreSQL:
every row read out) and everything in the copy is tried as a session cookie, a bearer token,
an authenticator secret and a recovery code. None may work, while the real ones, on the server
that has the secret key, still do. Only the pages, the API and the services any version has are
used, so the same test shows the finding on the code before the fix.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_otp.oath import totp

from haven.access.roles import Role
from haven.accounts import services
from haven.accounts.models import Organization, User
from tests.accounts.helpers import make_user
from tests.conftest import log_in
from tests.factories.accounts import PASSWORD

Rows = dict[str, list[tuple[Any, ...]]]


def _copy(tmp_path: Path) -> Rows:
    """Every row of every table, from a copy of the database as an attacker would take it."""
    tables = connection.introspection.table_names()
    if connection.vendor == "sqlite":
        target = tmp_path / "stolen.sqlite3"
        source = sqlite3.connect(str(connection.settings_dict["NAME"]))
        copy = sqlite3.connect(str(target))
        source.backup(copy)
        source.close()
        rows = {t: list(copy.execute(f'SELECT * FROM "{t}"')) for t in tables}  # noqa: S608
        copy.close()
        return rows
    out: Rows = {}
    with connection.cursor() as cursor:
        for t in tables:
            cursor.execute(f'SELECT * FROM "{t}"')  # noqa: S608 - names from the database
            out[t] = list(cursor.fetchall())
    return out


def _strings(rows: Rows) -> Iterator[str]:
    for table_rows in rows.values():
        for row in table_rows:
            for cell in row:
                text = bytes(cell).decode("latin-1") if isinstance(cell, bytes | memoryview) else cell
                if isinstance(text, str):
                    yield text


def _as_secret(value: str) -> list[bytes]:
    """Every way a stored text could be an authenticator secret: hex, base32, base64, raw."""
    found: list[bytes] = []
    for decode in (bytes.fromhex, lambda v: base64.b32decode(v.upper() + "=" * (-len(v) % 8)),
                   lambda v: base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))):
        with contextlib.suppress(ValueError, binascii.Error):
            found.append(decode(value))
    return [*found, value.encode()]


def _enrol(client: Client, username: str) -> tuple[bytes, list[str]]:
    """Enrol through the pages; the secret and recovery codes as the person sees them."""
    client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    page = client.get("/accounts/enrol/").content.decode()
    shown = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page)
    assert shown is not None
    secret = base64.b32decode(shown.group(1) + "=" * (-len(shown.group(1)) % 8))
    done = client.post("/accounts/enrol/", {"code": str(totp(secret)).zfill(6)}).content.decode()
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{6})</code>", done)
    assert len(codes) == 10
    return secret, codes


@pytest.mark.django_db(transaction=True)
def test_a_copy_of_the_database_lets_nobody_act_as_staff(
    tmp_path: Path, org: Organization, coordinator: User, settings: Any
) -> None:
    make_user(username="newcomer", organization=org, role=Role.CASEWORKER)
    newcomer = Client()
    secret, recovery = _enrol(newcomer, "newcomer")
    boss = log_in(Client(), coordinator)
    cookies = [c.cookies["haven_session"].value for c in (newcomer, boss)]
    raw_token, _ = services.token_create(actor=None, user=coordinator, name="nightly")

    strings = set(_strings(_copy(tmp_path)))
    dump = "\n".join(strings)

    # Nothing that works is in the copy, in any spelling.
    for cookie in cookies:
        assert cookie not in dump, "a session key is stored as it is"
    assert raw_token[len("hvn_"):] not in dump
    for code in recovery:
        assert code not in dump, "a recovery code is stored as it is"
    for spelling in (secret.hex(), base64.b32encode(secret).decode().rstrip("="),
                     base64.urlsafe_b64encode(secret).decode().rstrip("=")):
        assert spelling.lower() not in dump.lower(), "the authenticator secret is readable"

    candidates = sorted(s for s in strings if 8 <= len(s) <= 128 and s.isascii() and " " not in s)
    assert len(candidates) > 20
    for value in candidates:
        # ... as a session cookie: no staff page opens
        thief = Client()
        thief.cookies["haven_session"] = value
        assert thief.get("/accounts/").status_code == 302, f"{value[:12]}… opened a session"
        # ... as a bearer token: 401
        api = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
        assert api.status_code == 401, f"{value[:12]}… worked as a token"
        # ... read as hex, base32 or base64: not the authenticator secret
        assert secret not in _as_secret(value), "the authenticator secret is in the copy"
    # ... as a recovery code, by someone who also has the password: the code page takes none
    # (short values only: a recovery code is at most 16 characters)
    settings.HAVEN_LOGIN_MAX_DELAY_SECONDS = 0  # no waiting between tries in this test
    settings.HAVEN_LOGIN_LOCK_AFTER = settings.HAVEN_LOCKOUT_THRESHOLD = 10_000
    attacker = Client()
    attacker.post("/accounts/login/", {"username": "newcomer", "password": PASSWORD})
    for value in [c for c in candidates if len(c) <= 16]:
        attacker.post("/accounts/verify/", {"code": value})
        assert attacker.get("/accounts/").status_code == 302, f"{value} worked as a code"

    # With the secret key, the real ones still work: the copy lacked only the key.
    for cookie in cookies:
        owner = Client()
        owner.cookies["haven_session"] = cookie
        assert owner.get("/accounts/").status_code == 200
    assert Client().get("/api/v1/me", headers={
        "Authorization": f"Bearer {raw_token}"}).status_code == 200
