"""Each request records the scrypt cost its codename was hashed with.

Requests made before this migration were hashed with their intake key's cost, so that is
what they get; new requests use ``HAVEN_INTAKE_KDF_LOG2_N`` (docs/intake.md, "Codenames").
"""

from typing import Any

from django.db import migrations, models


def backfill(apps: Any, schema_editor: Any) -> None:
    request = apps.get_model("intake", "Request")
    intake_key = apps.get_model("intake", "IntakeKey")
    for key in intake_key.objects.all():
        request.objects.filter(intake_key=key).update(kdf_log2_n=key.kdf_log2_n)


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="request",
            name="kdf_log2_n",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="request",
            name="kdf_log2_n",
            field=models.PositiveSmallIntegerField(),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(fields=["intake_key", "kdf_log2_n"],
                               name="intake_requ_intake__fa9d78_idx"),
        ),
    ]
