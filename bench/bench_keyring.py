"""Keyring benchmark (not a test): field and file throughput, and a 50-person list with
decryption against the same list with encryption switched off.

    HAVEN_SECRET_KEY=... .venv/bin/python bench/bench_keyring.py

Runs against a throwaway data folder with the real key agent on its Unix socket, writes
bench/results/keyring.json. The target of issue 3: the list costs at most 1.3x.

Three ways to read the same page, measured in one run (so a busy machine affects them
alike): with the worker key cache (the default: keys of a page seen within
HAVEN_KEY_CACHE_SECONDS), with the cache off (every page: one query for its wrapped keys
and one batched unwrap call to the agent), and with encryption switched off
(bench/plainfields.py patches the field in this process only; the keyring has no such switch).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.mkdtemp(prefix="hvbench"))
os.environ["HAVEN_DATA_DIR"] = str(DATA)
os.environ.setdefault("HAVEN_SECRET_KEY", "bench-secret-key-0123456789abcdefghijklmnop")
os.environ["DJANGO_SETTINGS_MODULE"] = "haven.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402
from plainfields import plaintext_fields  # noqa: E402  (bench/, on sys.path as the script's folder)

from haven.accounts.models import Organization, User  # noqa: E402
from haven.keyring import crypto, files, services  # noqa: E402
from haven.people import selectors  # noqa: E402
from haven.people import services as people  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def field_throughput() -> dict[str, float]:
    key, value, aad = crypto.random_key(), ("Магомед Хасанович Тестов " * 2).encode(), b"aad"
    n = 20000
    sealed = [crypto.aead_seal(key, value, aad) for _ in range(100)]
    enc = min(timed(lambda: [crypto.aead_seal(key, value, aad) for _ in range(n)], 3))
    dec = min(timed(lambda: [crypto.aead_open(key, sealed[i % 100], aad) for i in range(n)], 3))
    return {"value_bytes": len(value), "encrypt_per_s": n / enc, "decrypt_per_s": n / dec}


def file_throughput() -> dict[str, float]:
    size = 32 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    key, owner = crypto.random_key(), ("people.person", str(uuid.uuid4()))
    file_id = uuid.uuid4()

    def write() -> None:
        w = files.SealedFileWriter(data_key=key, owner=owner, file_id=file_id)
        for _ in range(size // len(block)):
            w.write(block)
        w.close()

    enc = min(timed(lambda: (files.delete_stored(file_id), write()), 3))
    dec = min(timed(lambda: sum(len(c) for c in files.open_decrypted(
        data_key=key, owner=owner, file_id=file_id)), 3))
    files.delete_stored(file_id)
    mb = size / (1024 * 1024)
    return {"file_mb": mb, "encrypt_mb_per_s": mb / enc, "decrypt_mb_per_s": mb / dec}


def main() -> None:
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Bench", slug="bench")
    plain_org = Organization.objects.create(name="Bench plain", slug="bench-plain")
    user = User.objects.create_user("bench", "x" * 20, organization=org, role="coordinator")
    plain_user = User.objects.create_user("bench-plain", "x" * 20, organization=plain_org,
                                          role="coordinator")
    shares = services.keys_init(actor=None, shares=3, threshold=2)

    try:
        for share in shares[:2]:
            services.unseal_submit_share(actor=None, share=share)  # starts the real agent

        for i in range(50):
            people.person_create(actor=user, legal_name=f"Магомед Тестов {i}",
                                 other_names=f"Маго {i}", phone=f"+7928{i:07d}")
        with plaintext_fields():
            for i in range(50):
                people.person_create(actor=plain_user, legal_name=f"Магомед Тестов {i}",
                                     other_names=f"Маго {i}", phone=f"+7928{i:07d}")
        repeat = 60

        def listed(actor: User) -> None:
            rows = selectors.person_list(actor=actor)
            assert len(rows) == 50
            assert all(r.legal_name for r in rows)

        encrypted = timed(lambda: listed(user), repeat)
        with plaintext_fields():
            plain = timed(lambda: listed(plain_user), repeat)
        with override_settings(HAVEN_KEY_CACHE_SECONDS=0):
            batch_only = timed(lambda: listed(user), repeat)
        encrypted_again = timed(lambda: listed(user), repeat)
        with plaintext_fields():
            plain_again = timed(lambda: listed(plain_user), repeat)
        with override_settings(HAVEN_KEY_CACHE_SECONDS=0):
            batch_only += timed(lambda: listed(user), repeat)
        enc_ms = statistics.median(encrypted + encrypted_again) * 1000
        plain_ms = statistics.median(plain + plain_again) * 1000
        batch_ms = statistics.median(batch_only) * 1000
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "platform": platform.platform()},
            "fields": field_throughput(),
            "files": file_throughput(),
            "list_50_people": {
                "encrypted_median_ms": enc_ms, "plaintext_median_ms": plain_ms,
                "ratio": enc_ms / plain_ms, "target_ratio": 1.3,
                "no_cache_median_ms": batch_ms, "no_cache_ratio": batch_ms / plain_ms,
                "note": "person_list with the real key agent process, audit event included in "
                        "all three. encrypted: worker key cache, checked against the agent's "
                        "generation page before use. no_cache (HAVEN_KEY_CACHE_SECONDS=0): one "
                        "query for the page's wrapped keys and one batched unwrap call on a "
                        "kept socket connection per page.",
            },
            "database": str(settings.DATABASES["default"]["ENGINE"]),
        }
    finally:
        services.seal(actor=None)
        shutil.rmtree(DATA, ignore_errors=True)
    out = ROOT / "bench" / "results" / "keyring.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
