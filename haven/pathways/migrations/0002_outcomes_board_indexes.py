"""Covering indexes for the outcomes board (``selectors.outcomes_board``, ``pathway_outcomes``).

The board's grouped queries count ``id`` (``Count("pk")``) and read ``case_id`` and
``application_id``: with only the models' indexes, every counted row costs a visit to the
table. These indexes hold every column those queries read, so SQLite and PostgreSQL answer
them from the index alone (measured with bench/bench_cases.py at 100,000 people). The stuck
list reads the oldest stages of the organization in ``stage_since`` order and stops after a
few rows.

They are plain SQL with no model state, the same on both backends, so ``makemigrations``
sees no change to the models.
"""

from django.db import migrations

INDEXES = {
    # Median days per stage: (pathway, from_status, days_in_previous) histograms.
    "pw_event_days_cover": ("pathways_applicationevent",
                            "organization_id, pathway_id, from_status, days_in_previous, id"),
    # The funnel: which applications reached submitted, approved, visa issued.
    "pw_event_reach_cover": ("pathways_applicationevent",
                             "organization_id, to_status, pathway_id, application_id"),
    # Cases with an application, approvals, refusals and pending decisions per pathway (the
    # board, by pathway and by destination, and ``pathway_outcomes``).
    "pw_app_board_cover": ("pathways_application",
                           "organization_id, pathway_id, case_id, status, decision, id"),
    # Median days to a decision per pathway.
    "pw_app_decision_cover": ("pathways_application",
                              "organization_id, pathway_id, decision, decision_days, id"),
    # The stuck list: oldest stage first.
    "pw_app_stage_since": ("pathways_application", "organization_id, stage_since"),
}


class Migration(migrations.Migration):

    dependencies = [
        ("pathways", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(sql=f"CREATE INDEX {name} ON {table} ({columns})",
                          reverse_sql=f"DROP INDEX {name}")
        for name, (table, columns) in INDEXES.items()
    ]
