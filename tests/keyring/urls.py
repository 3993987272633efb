"""The project's URLs plus, until they are mounted in haven/urls.py and haven/api.py, the
keyring pages and the people API (so these tests run before and after the wiring)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, include, path

from haven import urls as project_urls
from haven.api import HavenAPI, TokenAuth
from haven.api import api as project_api
from haven.people.api import router as people_router

_mounted = any(prefix.strip("/") == "people" for prefix, _ in project_api._routers)
_keyring_routed = any("keyring" in str(getattr(p, "pattern", "")) for p in project_urls.urlpatterns)

urlpatterns: list[Any] = []
if _mounted:
    urlpatterns += project_urls.urlpatterns
else:
    test_api = HavenAPI(title="Haven API (tests)", version="1", urls_namespace="api",
                        docs_url=None, auth=TokenAuth())
    test_api._exception_handlers = dict(project_api._exception_handlers)
    test_api.add_router("/people", people_router)
    keep: list[URLPattern | URLResolver] = [
        p for p in project_urls.urlpatterns
        if isinstance(p, URLPattern | URLResolver) and "api/v1/" not in str(p.pattern)]
    urlpatterns += [*keep, path("api/v1/", test_api.urls)]
if not _keyring_routed:
    urlpatterns.append(path("keyring/", include("haven.keyring.urls")))

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
