from django.urls import path

from haven.dashboard import views

# The URL names stay ``core:dashboard`` and ``core:healthz``: templates, settings and
# bookmarks use them.
app_name = "core"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
]
