"""A seizure: the server is used, backed up, sealed and stopped; then every byte under its
data folder (database, WAL, files, backups, keystore, logs, temp, run) is searched for the
personal data it held, in every encoding an investigator would try. Zero hits."""

from __future__ import annotations

import base64
import signal
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.keyring.test_agent_e2e import _haven, _request, server

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
                                    urllib.request.quote(q))
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


def test_variants_cover_the_encodings() -> None:
    v = variants("Abcdefgh")
    assert b"Abcdefgh" in v
    assert b"ABCDEFGH" in v
    assert "abcdefgh".encode("utf-16-le") in v
    assert b"4162636465666768" in v
    assert any(x in base64.b64encode(b"xx Abcdefgh yy") for x in v)
    assert any(x in base64.b64encode(b"x Abcdefgh yy") for x in v)
    assert any(x in base64.b64encode(b"Abcdefgh yy") for x in v)
