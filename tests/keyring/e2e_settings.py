"""Settings for the end-to-end server tests: the project's, plus the sealed middleware and
the keyring/people routes (until they are wired into haven/settings.py and haven/urls.py),
and a header naming the worker process that answered."""

from haven.settings import *  # noqa: F403
from haven.settings import MIDDLEWARE

_after = MIDDLEWARE.index("haven.accounts.middleware.SecondFactorMiddleware") + 1
if "haven.keyring.middleware.SealedMiddleware" not in MIDDLEWARE:
    MIDDLEWARE = [*MIDDLEWARE[:_after], "haven.keyring.middleware.SealedMiddleware",
                  *MIDDLEWARE[_after:]]
MIDDLEWARE = ["tests.keyring.e2e_settings.WorkerPidMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "tests.keyring.urls"


class WorkerPidMiddleware:
    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request):  # type: ignore[no-untyped-def]
        import os

        response = self.get_response(request)
        response["X-Worker-Pid"] = str(os.getpid())
        return response
