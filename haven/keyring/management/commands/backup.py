"""`haven backup create|verify|restore PATH`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from haven.core.errors import HavenError
from haven.keyring import backup, client, services
from haven.keyring.models import KeySetState


@contextlib.contextmanager
def key_access(keystore: dict[str, Any]) -> Iterator[None]:
    """Use the running agent if it holds the keystore's key set; else take shares on stdin
    (one per line) into an agent inside this short-lived process (restore onto a new host)."""
    active = next(k for k in keystore["keysets"] if k["state"] == KeySetState.ACTIVE)
    status = client.status()
    if status and active["id"] in status.get("keysets", []):
        yield
        return
    with client.using(client.LocalTransport()):
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                result = client.call("submit_share", keyset=active["id"],
                                     identifier=active["identifier"], threshold=active["threshold"],
                                     verifier=active["verifier"], share=line)
            except client.KeyringError as exc:
                sys.stderr.write(f"refused: {exc.message}\n")
                continue
            if result["result"] == "unsealed":
                break
        else:
            raise CommandError("The keys are sealed: give enough shares on standard input.",
                               returncode=1)
        try:
            yield
        finally:
            client.call("seal")


class Command(BaseCommand):
    help = "Encrypted backups of the database and files (keys travel in the keystore file)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name in ("create", "verify", "restore"):
            p = sub.add_parser(name)
            p.add_argument("path", type=Path)
            p.add_argument("--keystore", type=Path, default=None,
                           help="keystore file (default: BACKUP_DIR/keystore.json)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        keystore_path: Path = options["keystore"] or services.keystore_path()
        try:
            if options["action"] == "create":
                snapshot = services.keystore_snapshot()
                services.keystore_export(keystore_path)
                manifest = backup.create(path, keystore=snapshot)
                self.stdout.write(f"backup written: {path} ({len(manifest.members)} members, "
                                  f"{manifest.files} files); keystore: {keystore_path}")
                return
            keystore = backup.load_keystore(keystore_path)
            with key_access(keystore):
                if options["action"] == "verify":
                    manifest = backup.verify(path, keystore=keystore)
                    self.stdout.write(f"backup OK: {path} of {manifest.created_at}, content "
                                      f"{manifest.content_hash}")
                else:
                    database = settings.DATABASES["default"]
                    manifest = backup.restore(path, keystore=keystore, database=database,
                                              files_dir=Path(settings.FILES_DIR))
                    where = (f"the database {database['NAME']} and {settings.FILES_DIR}"
                             if manifest.database == "postgresql" else str(settings.DATA_DIR))
                    self.stdout.write(f"restored {path} into {where}")
        except HavenError as exc:
            raise CommandError(exc.message, returncode=2) from None
