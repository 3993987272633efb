from django.urls import path

from haven.keyring import views

app_name = "keyring"

urlpatterns = [
    path("unseal/", views.unseal, name="unseal"),
    path("sealed/", views.sealed, name="sealed"),
    path("seal/", views.seal, name="seal"),
]
