from django.urls import include, path
from django.views.i18n import set_language

from haven.access.decorators import public
from haven.api import api

urlpatterns = [
    path("", include("haven.dashboard.urls")),
    path("accounts/", include("haven.accounts.urls")),
    path("audit/", include("haven.auditlog.urls")),
    path("keyring/", include("haven.keyring.urls")),
    path("inbox/", include("haven.intake.urls")),
    path("cases/", include("haven.cases.urls")),
    path("people/", include("haven.people.urls")),
    path("shelters/", include("haven.housing.urls")),
    path("pathways/", include("haven.pathways.urls")),
    path("intake/", include("haven.intake.public_urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("api/v1/", api.urls),
]

handler400 = "haven.core.views.error_400"
handler403 = "haven.core.views.error_403"
handler404 = "haven.core.views.error_404"
handler500 = "haven.core.views.error_500"
