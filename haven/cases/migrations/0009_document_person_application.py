"""Documents belong to people: the optional application a file was made for, tickets, the
task origins of journeys and shelters, and every older document given to its case's principal."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def attach_to_principal(apps: Any, schema_editor: Any) -> None:
    """A document is a person's now: those from before (no person) become the principal's.

    On PostgreSQL the foreign keys are checked at once: a deferred check still pending when the
    migration creates its indexes at the end would make PostgreSQL refuse them."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Document = apps.get_model("cases", "Document")
    Member = apps.get_model("cases", "Member")
    principal = Member.objects.filter(case_id=OuterRef("case_id"), is_principal=True)
    Document.objects.filter(person__isnull=True).update(
        person_id=Subquery(principal.values("person_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0008_task_application_date_mine'),
        ('pathways', '0004_date_task_origin'),
    ]

    operations = [
        migrations.AddField(
            model_name='document',
            name='application',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='documents', to='pathways.application'),
        ),
        migrations.AlterField(
            model_name='document',
            name='doc_type',
            field=models.CharField(choices=[('passport', 'Passport'), ('id_card', 'Identity card'), ('birth_certificate', 'Birth certificate'), ('evidence', 'Evidence of persecution'), ('medical', 'Medical record'), ('photo', 'Photograph'), ('travel_document', 'Refugee travel document'), ('referral_letter', 'Referral letter'), ('sponsor_letter', 'Sponsorship or host letter'), ('application_form', 'Application form'), ('residence_proof', 'Proof of stay in a third country'), ('police_certificate', 'Police certificate'), ('ticket', 'Ticket or boarding pass'), ('other', 'Other')], default='other', max_length=20),
        ),
        migrations.AlterField(
            model_name='task',
            name='origin',
            field=models.CharField(blank=True, choices=[('', 'Made by a person'), ('application_date', "An application's interview or deadline"), ('detention', 'A detention on a journey'), ('shelter', 'A compromised shelter')], default='', editable=False, max_length=16),
        ),
        migrations.RunPython(attach_to_principal, migrations.RunPython.noop),
    ]
