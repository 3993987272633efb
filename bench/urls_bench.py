"""URLs and middleware of the benchmark settings (bench/settings_bench.py), never production."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from haven import urls as haven_urls
from haven.access.decorators import public


@public
def hello(request: HttpRequest) -> HttpResponse:
    """The yardstick: a plain Django view behind the same middleware as every page."""
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [path("bench/hello/", hello, name="bench_hello"), *haven_urls.urlpatterns]


class ServerTimingMiddleware:
    """Outermost middleware: ``Server-Timing: app;dur=MS, cpu;dur=MS, db;dur=MS;desc="N
    queries"``: the wall-clock time in Django, the CPU time the worker spent on it (what the
    request costs, whatever else the machine is doing), and the time waiting on the database.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        db = [0.0, 0]

        def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                db[0] += time.perf_counter() - start
                db[1] += 1

        start, cpu = time.perf_counter(), time.thread_time()
        with connection.execute_wrapper(timed):
            response = self.get_response(request)
        app = (time.perf_counter() - start) * 1000
        cpu = (time.thread_time() - cpu) * 1000
        response["Server-Timing"] = (f'app;dur={app:.2f}, cpu;dur={cpu:.2f}, '
                                     f'db;dur={db[0] * 1000:.2f};desc="{int(db[1])} queries"')
        return response
