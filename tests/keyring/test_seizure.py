"""A seizure: the server is used, backed up, sealed and stopped; then every byte under its
data folder (database, WAL, files, backups, keystore, logs, temp, run) is searched for the
personal data it held, in every encoding an investigator would try. Zero hits."""

from __future__ import annotations

import base64
import io
import json
import signal
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from haven.keyring import files, keys
from haven.people import services as people
from tests.keyring.test_agent_e2e import _haven, _request, server
from tests.keyring.test_backup import pg_script

__all__ = ["server"]

MARKERS = [
    "Zaremamarkerq7x",  # a legal name
    "Хадижатмаркер",  # a Cyrillic name
    "Aliasmarkerk2v",  # other names
    "+7 999 4242 777",  # a phone number
    "79994242777",  # its digits
    "Passportmarkerbody3z",  # file contents
    "scanmarkerfname8w",  # an uploaded file's name
]


def variants(marker: str) -> set[bytes]:
    out: set[bytes] = set()
    for text in {marker, marker.upper(), marker.lower()}:
        raw = text.encode()
        out |= {raw, text.encode("utf-16-le"), text.encode("utf-16-be"),
                raw.hex().encode(), raw.hex().upper().encode()}
        for shift in range(3):  # base64 of the marker at any byte alignment
            encoded = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0 :]
            out.add(encoded[: len(encoded) - 4])
            out.add(base64.urlsafe_b64encode(b"\0" * shift + raw)[4 if shift else 0 :][:-4])
    return {v for v in out if len(v) >= 8}


def _upload(info: dict[str, Any], person_id: str, name: str, content: bytes) -> int:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(  # noqa: S310 - the loopback test server
        f"{info['base']}/api/v1/people/{person_id}/files", data=body, method="POST",
        headers={"Authorization": f"Bearer {info['token']}", "Connection": "close",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        return int(resp.status)


@pytest.mark.slow
def test_seized_data_folder_reveals_nothing(server: dict[str, Any]) -> None:
    data: Path = server["data"]
    assert _haven(server, "unseal", stdin="\n".join(server["shares"][:2]) + "\n").returncode == 0
    status, _, body = _request(server, "POST", "/api/v1/people", {
        "legal_name": f"{MARKERS[0]} {MARKERS[1]}", "other_names": MARKERS[2],
        "phone": MARKERS[3]})
    assert status == 201, body
    person_id = body["id"]
    for i in range(20):  # enough writes to spread over pages, the WAL and a checkpoint
        _request(server, "POST", "/api/v1/people", {"legal_name": f"Filler {i}"})
    content = (MARKERS[5] + " ").encode() * 50000  # ~1 MB, many chunks
    assert _upload(server, person_id, f"{MARKERS[6]}.pdf", content) == 201
    # reads and searches, which a log could leak
    for q in (MARKERS[0].lower(), MARKERS[1], MARKERS[4]):
        status, _, found = _request(server, "GET", "/api/v1/people?q=" +
                                    urllib.parse.quote(q))
        assert status == 200
        assert [p["id"] for p in found] == [person_id]
    status, _, _ = _request(server, "GET", "/api/v1/people")
    assert status == 200
    created = _haven(server, "backup", "create", str(data / "backups" / "seized.hvb"))
    assert created.returncode == 0, created.stderr
    assert _haven(server, "seal").returncode == 0
    server["proc"].send_signal(signal.SIGTERM)
    server["proc"].wait(15)

    files = [p for p in data.rglob("*") if p.is_file()]
    names = {p.relative_to(data).parts[0] for p in files}
    assert {"haven.sqlite3", "files", "backups", "logs"} <= names | {p.name for p in files}
    assert any(p.suffix == ".hvf" for p in files)
    assert (data / "backups" / "keystore.json").exists()
    hits = []
    for marker in MARKERS:
        patterns = variants(marker)
        for path in files:
            blob = path.read_bytes()
            hits += [(marker, str(path.relative_to(data)), v) for v in patterns if v in blob]
        # and the file names themselves
        hits += [(marker, str(p), b"name") for p in files if marker.lower() in str(p).lower()]
    assert hits == []


def _hits(blobs: dict[str, bytes]) -> list[tuple[str, str, bytes]]:
    return [(marker, where, v) for marker in MARKERS for v in variants(marker)
            for where, blob in blobs.items() if v in blob]


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                    reason="a PostgreSQL deployment's backup: run with DATABASE_URL=postgresql://…")
def test_postgresql_backup_archive_reveals_nothing(
        *, transactional_db: None, unsealed: list[str], coordinator: Any, data_dir: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a seizure of a PostgreSQL deployment's backups finds: the archive, the keystore,
    and — for whoever also holds the shares — the dump inside. No personal data in any."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # pg_dump's and pg_restore's too
    person = people.person_create(actor=coordinator, legal_name=f"{MARKERS[0]} {MARKERS[1]}",
                                  other_names=MARKERS[2], phone=MARKERS[3])
    doc_id = uuid.uuid4()
    writer = files.SealedFileWriter(data_key=keys.data_key_for(person),
                                    owner=person.keyring_owner(), file_id=doc_id)
    writer.write((MARKERS[5] + " ").encode() * 5000)
    writer.close()
    people.person_file_attach(actor=coordinator, person=person, upload=files.EncryptedUpload(
        file_id=doc_id, name=f"{MARKERS[6]}.pdf", content_type="application/pdf", size=1))
    for i in range(20):
        people.person_create(actor=coordinator, legal_name=f"Filler {i}")
    archive = data_dir / "backups" / "seized.hvb"
    call_command("backup", "create", str(archive), stdout=io.StringIO())
    keystore = json.loads((data_dir / "backups" / "keystore.json").read_text())
    script = pg_script(archive, keystore)
    assert script.count(b"COPY public.") > 10
    assert _hits({"archive": archive.read_bytes(), "keystore": json.dumps(keystore).encode(),
                  "dump (decrypted, uncompressed)": script}) == []
    assert list(scratch.iterdir()) == []


def test_variants_cover_the_encodings() -> None:
    v = variants("Abcdefgh")
    assert b"Abcdefgh" in v
    assert b"ABCDEFGH" in v
    assert "abcdefgh".encode("utf-16-le") in v
    assert b"4162636465666768" in v
    assert any(x in base64.b64encode(b"xx Abcdefgh yy") for x in v)
    assert any(x in base64.b64encode(b"x Abcdefgh yy") for x in v)
    assert any(x in base64.b64encode(b"Abcdefgh yy") for x in v)
