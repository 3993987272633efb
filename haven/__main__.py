"""The `haven` command: Django's management commands under one operator-facing name.

`haven serve`, `haven token create USER`, `haven audit verify`, `haven keys init` … are the
management commands of the same names. Django command names cannot contain a dash, so the
dashed spellings operators type (`haven demo-code`) are mapped to their module names here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ALIASES = {"demo-code": "democode"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    # The data folder holds the SQLite database; it must exist before Django opens it.
    # Private to the service user: it holds the database, files, backups and logs.
    data_dir = Path(os.environ.get("HAVEN_DATA_DIR") or "var")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Django is loaded only once the settings module is chosen and the data folder exists.
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    args = list(sys.argv if argv is None else argv)
    args[0] = "haven"
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
