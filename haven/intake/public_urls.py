"""The public intake site, mounted at /intake/ (also alone, by `haven serve --intake-only`)."""

from django.urls import path

from haven.intake import public_views

app_name = "intake"

urlpatterns = [
    path("", public_views.home, name="home"),
    path("ask/", public_views.ask, name="ask"),
    path("received/", public_views.received, name="received"),
    path("return/", public_views.come_back, name="come_back"),
    path("conversation/", public_views.conversation, name="conversation"),
    path("leave/", public_views.leave, name="leave"),
]
