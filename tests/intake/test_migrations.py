from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from nacl.public import PrivateKey

from haven.intake import services
from haven.intake.models import IntakeKey, Request
from haven.keyring import intake_crypto

BEFORE = [("intake", "0001_initial")]
CODENAME = "alpha bravo charlie delta echo foxtrot golf"


@pytest.mark.django_db(transaction=True)
def test_requests_stored_before_per_request_costs_keep_their_keys_cost_and_still_open(
        org: Any, settings: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        salt = intake_crypto.new_salt()
        key = old.get_model("intake", "IntakeKey").objects.create(
            organization_id=org.pk, public_key=bytes(PrivateKey.generate().public_key),
            kdf_salt=salt, kdf_log2_n=11)
        derived = intake_crypto.codename_keys(CODENAME, intake_crypto.KdfParams(salt, 11))
        old.get_model("intake", "Request").objects.create(
            organization_id=org.pk, intake_key=key, urgency="now", urgency_rank=0,
            lookup_tag=derived.lookup_tag, reply_public_key=derived.reply_public_key,
            payload=b"sealed")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Request.objects.get().kdf_log2_n == 11
    settings.HAVEN_INTAKE_KDF_LOG2_N = 10  # the new default: old codenames must still open
    found, reply_key = services.requester_login(intake_key=IntakeKey.objects.get(),
                                                codename=CODENAME)
    assert bytes(reply_key.public_key) == derived.reply_public_key
    assert bytes(found.lookup_tag) == derived.lookup_tag
