from django.apps import AppConfig


class KeyringConfig(AppConfig):
    name = "haven.keyring"
    label = "keyring"
    default_auto_field = "django.db.models.BigAutoField"
