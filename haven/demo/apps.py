from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo organizations, invented data and the commands that make them (`haven demo`,
    `haven demo-code`, `haven seed`).

    Installed by ``haven.settings_demo`` (``make run``), the tests and the benchmarks; never by
    the production settings (``haven.settings``), so a production server has no command that
    prints a user's code or fills its database with invented people.
    """

    name = "haven.demo"
    label = "demo"
