"""Settings for `make run`, the tests and the benchmarks: the production settings, plus the
demo app (``haven.demo``: the demo organization, `haven demo`, `haven demo-code`, `haven seed`).

A production deployment uses ``haven.settings``, which does not install the demo app.
"""

from haven.settings import *  # noqa: F403 - everything production has, then the demo app
from haven.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "haven.demo"]
