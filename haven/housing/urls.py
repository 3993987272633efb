"""The shelter board, mounted at /shelters/."""

from django.urls import path

from haven.housing import views

app_name = "shelters"

urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.shelter_new, name="new"),
    path("<uuid:pk>/", views.shelter_detail, name="detail"),
    path("<uuid:pk>/transition/", views.shelter_transition, name="transition"),
    path("<uuid:pk>/reveal/", views.shelter_reveal, name="reveal"),
]
