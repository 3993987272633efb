"""Mark the tasks that application dates already keep (cases 0005 added ``Task.origin``), so
the start page's partial index finds them; new ones are marked when they are made."""

from typing import Any

from django.db import migrations


def mark(apps: Any, schema_editor: Any) -> None:
    Task = apps.get_model("cases", "Task")
    ApplicationDate = apps.get_model("pathways", "ApplicationDate")
    Task.objects.filter(pk__in=ApplicationDate.objects.exclude(task=None).values("task_id")
                        ).update(origin="application_date")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0005_task_origin"),
        ("pathways", "0003_application_version"),
    ]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]
