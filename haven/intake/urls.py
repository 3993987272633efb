"""The operators' inbox, mounted at /inbox/ on the staff app."""

from django.urls import path

from haven.intake import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="list"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/reply/", views.reply, name="reply"),
    path("<uuid:pk>/transition/", views.transition, name="transition"),
    path("<uuid:pk>/convert/", views.convert, name="convert"),
]
