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
    path("<uuid:pk>/ungroup/", views.ungroup, name="ungroup"),
    path("groups/<uuid:pk>/", views.group, name="group"),
    path("groups/<uuid:pk>/close/", views.group_close, name="group_close"),
    path("case/<uuid:case_id>/", views.case_conversation, name="case_conversation"),
    path("case/<uuid:case_id>/reply/", views.case_reply, name="case_reply"),
]
