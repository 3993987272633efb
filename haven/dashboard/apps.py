from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The start page of every role: reads from every domain app, so it sits above them."""

    name = "haven.dashboard"
    label = "dashboard"
