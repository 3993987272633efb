"""The `haven` command: Django's management commands under one operator-facing name.

`haven serve`, `haven token create USER`, `haven audit verify`, `haven keys init` … are the
management commands of the same names.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "haven"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
