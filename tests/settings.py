"""Settings for the test suite: production settings, plus what only tests may change.

- A fixed secret key, so a fresh clone can run `pytest` without a data folder.
- Argon2id with tiny costs: every fixture user hashes a password, and the production cost
  (about half a second each on this machine) would make the suite crawl. The production
  hasher list is tested directly in tests/accounts.
"""

from __future__ import annotations

import os

os.environ.setdefault("HAVEN_SECRET_KEY", "test-secret-key-0123456789abcdefghijklmnop")

from haven.settings_demo import *  # noqa: F403 - the production settings and the demo app

PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher"]

# Processes the tests start (the real `haven` command, gunicorn, the key agent) must run the
# production settings, with the demo app for `haven demo` and `haven seed`: point the inherited
# variable at them. This process has already loaded this module, so the change does not affect it.
os.environ["DJANGO_SETTINGS_MODULE"] = "haven.settings_demo"

# SQLite tests run on a real file (WAL, IMMEDIATE transactions), as production does, not on a
# shared in-memory database whose locking behaves differently under threads.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"haven-test-{os.getpid()}.sqlite3"),
    }
