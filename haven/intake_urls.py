"""ROOT_URLCONF of `haven serve --intake-only` (HAVEN_INTAKE_ONLY=1): the public intake pages,
the language switch and the health check, and no staff route at all."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path
from django.views.decorators.http import require_GET
from django.views.i18n import set_language

from haven.access.decorators import public
from haven.dashboard.views import healthz


@public
@require_GET
def root(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/intake/")


urlpatterns = [
    path("", root),
    path("intake/", include("haven.intake.public_urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("healthz", healthz, name="healthz"),
]

# The staff error pages link to staff routes, which do not exist here.
handler400 = "haven.intake.public_views.error_400"
handler403 = "haven.intake.public_views.error_403"
handler404 = "haven.intake.public_views.error_404"
handler500 = "haven.intake.public_views.error_500"
