"""The staff roles (docs/architecture.md, "Who uses it")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    CASEWORKER = "caseworker", _("Caseworker")
    OPERATOR = "operator", _("Hotline operator")
    VERIFIER = "verifier", _("Verifier")
    LIAISON = "liaison", _("Partner liaison")
    AUDITOR = "auditor", _("Auditor")
