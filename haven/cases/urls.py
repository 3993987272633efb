"""Case pages, mounted at /cases/."""

from django.urls import path

from haven.cases import document_views, export_views, task_views, views
from haven.housing import views as housing_views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("export.csv", export_views.case_export, name="export"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("new/", views.case_new, name="new"),
    path("tasks/", task_views.task_list, name="tasks"),
    path("tasks/export.csv", export_views.task_export, name="tasks_export"),
    path("tasks/<uuid:task_id>/edit/", task_views.task_edit, name="task_edit"),
    path("tasks/<uuid:task_id>/transition/", task_views.task_transition, name="task_transition"),
    path("<uuid:pk>/", views.case_detail, name="detail"),
    path("<uuid:pk>/transition/", views.case_transition, name="transition"),
    path("<uuid:pk>/assign/", views.case_assign, name="assign"),
    path("<uuid:pk>/update/", views.case_update, name="update"),
    path("<uuid:pk>/verification/", views.verification_request, name="verification_request"),
    path("<uuid:pk>/verification/<uuid:verification_id>/submit/", views.verification_submit,
         name="verification_submit"),
    path("<uuid:pk>/verification/<uuid:verification_id>/approve/", views.verification_approve,
         name="verification_approve"),
    path("<uuid:pk>/risk/", views.risk_assess, name="risk"),
    path("<uuid:pk>/members/", views.member_add, name="member_add"),
    path("<uuid:pk>/people/<uuid:person_id>/", views.profile_edit, name="profile"),
    path("<uuid:pk>/people/<uuid:person_id>/reveal/", views.person_reveal, name="reveal"),
    path("<uuid:pk>/people/<uuid:person_id>/travels/", views.member_travels,
         name="member_travels"),
    path("<uuid:pk>/notes/", views.note_add, name="note_add"),
    path("<uuid:pk>/notes/<uuid:note_id>/redact/", views.note_redact, name="note_redact"),
    path("<uuid:pk>/tasks/", views.task_add, name="task_add"),
    path("<uuid:pk>/placements/", housing_views.placement_add, name="placement_add"),
    path("<uuid:pk>/placements/new/", views.placement_new, name="placement_new"),
    path("<uuid:pk>/placements/<uuid:placement_id>/transition/",
         housing_views.placement_transition, name="placement_transition"),
    path("<uuid:pk>/documents/", document_views.document_upload, name="document_upload"),
    path("<uuid:pk>/documents/<uuid:document_id>/", document_views.document_download,
         name="document_download"),
    path("<uuid:pk>/referrals/", views.referral_add, name="referral_add"),
]
