"""Pathways pages, mounted at /pathways/."""

from django.urls import path

from haven.pathways import export_views, views

app_name = "pathways"

urlpatterns = [
    path("", views.pathway_list, name="list"),
    path("outcomes/", views.outcomes, name="outcomes"),
    path("outcomes/export.csv", export_views.outcomes_export, name="outcomes_export"),
    path("applications/export.csv", export_views.application_export,
         name="applications_export"),
    path("dossiers/", views.dossier_queue, name="dossiers"),
    path("dossiers/<uuid:pk>/decide/", views.dossier_decide, name="dossier_decide"),
    path("dossiers/<uuid:pk>/download/", views.dossier_download, name="dossier_download"),
    path("routes/<slug:slug>/", views.pathway_detail, name="detail"),
    path("routes/<slug:slug>/edit/", views.pathway_edit, name="edit"),
    path("cases/<uuid:case_id>/", views.where_to_apply, name="where"),
    path("cases/<uuid:case_id>/apply/", views.application_start, name="apply"),
    path("cases/<uuid:case_id>/panel/", views.case_panel, name="case_panel"),
    path("cases/<uuid:case_id>/travel/", views.travel_new, name="travel_new"),
    path("applications/<uuid:pk>/", views.application_detail, name="application"),
    path("applications/<uuid:pk>/transition/", views.application_transition,
         name="application_transition"),
    path("applications/<uuid:pk>/update/", views.application_update, name="application_update"),
    path("applications/<uuid:pk>/dates/", views.application_date, name="application_date"),
    path("applications/<uuid:pk>/checklist/", views.checklist_tick, name="checklist_tick"),
    path("applications/<uuid:pk>/dossier/", views.dossier_request, name="dossier_request"),
    path("travel/<uuid:pk>/", views.travel_detail, name="travel"),
    path("travel/<uuid:pk>/update/", views.travel_update, name="travel_update"),
    path("travel/<uuid:pk>/transition/", views.travel_transition, name="travel_transition"),
    path("travel/<uuid:pk>/undo/", views.travel_undo, name="travel_undo"),
    path("travel/<uuid:pk>/bookings/", views.booking_add, name="booking_add"),
    path("travel/<uuid:pk>/bookings/<uuid:booking_id>/", views.booking_edit, name="booking_edit"),
    path("travel/<uuid:pk>/bookings/<uuid:booking_id>/tickets/", views.booking_ticket,
         name="booking_ticket"),
]
