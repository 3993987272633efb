from django.apps import AppConfig


class HousingConfig(AppConfig):
    name = "haven.housing"
    label = "housing"
    default_auto_field = "django.db.models.BigAutoField"
