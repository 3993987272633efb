"""`haven purge`: destroy declined, spam and duplicate requests past the retention period.

Run it from a timer (systemd timer or cron, e.g. hourly), or leave `haven purge --every 3600`
running next to the server.
"""

import argparse
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from haven.intake import services


class Command(BaseCommand):
    help = ("Destroy declined, spam and duplicate intake requests closed more than "
            "HAVEN_INTAKE_RETENTION_DAYS ago, and expired requester sessions.")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--every", type=int, default=0, metavar="SECONDS",
                            help="keep running, purging every SECONDS (at least 60)")

    def handle(self, *args: Any, **options: Any) -> None:
        every = int(options["every"])
        if every and every < 60:
            raise CommandError("--every must be at least 60 seconds.", returncode=2)
        while True:
            count = services.request_purge()
            self.stdout.write(f"purged {count} request(s) older than "
                              f"{settings.HAVEN_INTAKE_RETENTION_DAYS} days")
            self.stdout.flush()
            if not every:
                return
            time.sleep(every)
