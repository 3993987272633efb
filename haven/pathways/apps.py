from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PathwaysConfig(AppConfig):
    name = "haven.pathways"
    label = "pathways"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_load_reference_data, sender=self,
                             dispatch_uid="haven.pathways.load_reference_data")


def _load_reference_data(sender: AppConfig, plan: Any = None, using: str = "default",
                         **kwargs: Any) -> None:
    """A fresh database gets the shipped reference data right after ``migrate``.

    Only when this ``migrate`` created the pathways tables (its plan applied
    ``pathways.0001_initial``): then the current models and the current loader match the
    schema, which a data migration written today could not promise for the models of
    tomorrow. A file that does not validate is logged and skipped. An existing database is
    left alone; ``haven pathways load`` (run by
    ``haven demo``, ``haven seed`` and after every upgrade) brings it up to date.
    """
    if not plan:
        return
    created = any(migration.app_label == "pathways" and migration.name == "0001_initial"
                  and not backwards for migration, backwards in plan)
    if not created:
        return
    # An AppConfig module is imported before the models exist; the loader needs them.
    from haven.pathways import loader  # noqa: PLC0415

    try:
        loader.load_reference_data(loader.DEFAULT_PATH, actor=None, using=using)
    except loader.ReferenceDataError as exc:
        # A reference file broken mid-edit must not stop a database from being created;
        # the operator is told, and `haven pathways load` says exactly what is wrong.
        logging.getLogger(__name__).warning(
            "Reference data not loaded (run `haven pathways load` once it is fixed): %s",
            exc.message)
