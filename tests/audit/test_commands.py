from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.audit import services
from haven.audit.models import AuditEvent, AuditHead

HAVEN = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "haven"


def _chain(n: int) -> None:
    for i in range(n):
        services.record(actor=None, action="test.done", object_id=f"id-{i}")


def test_verify_reports_an_intact_chain(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    _chain(3)
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "audit chain OK: 3 events, head #3" in out


def test_verify_fails_naming_the_first_bad_event(db: None) -> None:
    _chain(4)
    AuditEvent.objects.filter(seq=2).update(object_id="changed")
    with pytest.raises(CommandError, match="BROKEN at event #2") as caught:
        call_command("audit", "verify")
    assert caught.value.returncode == 1


def test_head_prints_seq_and_hash_and_expect_head_checks_it(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _chain(3)
    call_command("audit", "head")
    head = capsys.readouterr().out.strip()
    seq, digest = head.split(":")
    assert seq == "3"
    assert digest == AuditEvent.objects.get(seq=3).hash
    call_command("audit", "verify", "--expect-head", head)
    AuditEvent.objects.filter(seq=3).delete()
    two = AuditEvent.objects.get(seq=2)
    AuditHead.objects.update(seq=2, hash=two.hash)  # the tail cut and the head rewritten
    call_command("audit", "verify")  # consistent on its own …
    with pytest.raises(CommandError, match="does not contain the expected head #3"):
        call_command("audit", "verify", "--expect-head", head)  # … but not with the anchor


def test_expect_head_refuses_a_malformed_value(db: None) -> None:
    with pytest.raises(CommandError, match="SEQ:HASH") as caught:
        call_command("audit", "verify", "--expect-head", "nonsense")
    assert caught.value.returncode == 2


@pytest.mark.slow
def test_haven_audit_verify_exits_non_zero_in_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["HAVEN_DATA_DIR"] = str(tmp_path)
    env.setdefault("HAVEN_SECRET_KEY", "test-secret-key-0123456789abcdefghijklmnop")

    def haven(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(HAVEN), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    assert haven("migrate", "--verbosity", "0").returncode == 0
    # migrate itself records events (the pathways reference data load): count from there
    before = int(re.search(r"OK: (\d+) events", haven("audit", "verify").stdout).group(1))
    seed = haven("shell", "-c", "from haven.audit.services import record\n"
                 "for i in range(3): record(actor=None, action='cli.test', object_id=str(i))")
    assert seed.returncode == 0, seed.stderr
    good = haven("audit", "verify")
    assert good.returncode == 0, good.stderr
    assert f"audit chain OK: {before + 3} events" in good.stdout

    import sqlite3

    db = sqlite3.connect(tmp_path / "haven.sqlite3")
    with db:
        db.execute("UPDATE audit_auditevent SET object_id = 'forged' WHERE seq = ?", (before + 2,))
    db.close()
    bad = haven("audit", "verify")
    assert bad.returncode == 1
    assert f"BROKEN at event #{before + 2}" in bad.stderr
