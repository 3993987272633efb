"""People pages, mounted at /people/."""

from django.urls import path

from haven.people import views

app_name = "people"

urlpatterns = [
    path("duplicates/", views.duplicate_queue, name="duplicates"),
    path("duplicates/<uuid:pair_id>/decide/", views.duplicate_decide, name="duplicate_decide"),
    path("duplicates/<uuid:pair_id>/undo/", views.duplicate_undo, name="duplicate_undo"),
]
