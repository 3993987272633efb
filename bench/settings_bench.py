"""Settings for benchmarking only: Haven's production settings plus two things a benchmark needs.

    DJANGO_SETTINGS_MODULE=settings_bench PYTHONPATH=bench haven serve ...

(bench/bench_scale.py does this). On top of ``haven.settings``, unchanged:

- a plain Django "hello" view at ``/bench/hello/`` (bench/urls_bench.py), the yardstick every
  page is compared with: the same server, workers, middleware and network path, no Haven code;
- a ``Server-Timing`` header on every response: the time Django spent (``app``) and the time
  spent waiting on the database (``db``, with the query count), so server time can be told
  apart from the load generator's own time on a shared 2-core machine.

Neither exists in production: haven.urls has no hello view and production responses carry no
timing (a timing header would tell an observer how much data a page touched).
"""

from haven.settings import *  # noqa: F403 - everything production has, then the additions
from haven.settings import MIDDLEWARE

ROOT_URLCONF = "urls_bench"
MIDDLEWARE = ["urls_bench.ServerTimingMiddleware", *MIDDLEWARE]
