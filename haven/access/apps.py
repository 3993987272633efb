from importlib import import_module

from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "haven.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"
    # The policy of an area that has its own module (``haven/access/policy_<area>.py``): each
    # registers its object rules with ``policy.register_object_rule`` when imported, so they
    # are in place before the first request whatever code runs first.
    AREA_POLICIES: tuple[str, ...] = ("haven.access.policy_partners",)

    def ready(self) -> None:
        for module in self.AREA_POLICIES:
            import_module(module)
