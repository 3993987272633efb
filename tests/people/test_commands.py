from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from haven.people import selectors, services
from haven.people.models import PersonIndex


def test_people_reindex_command(unsealed: list[str], coordinator: Any) -> None:
    person = services.person_create(actor=coordinator, legal_name="Дарья")
    PersonIndex.objects.all().delete()
    out = StringIO()
    call_command("people", "reindex", "--batch", "1", stdout=out)
    assert "Indexed 1 people again" in out.getvalue()
    assert selectors.person_ids_matching(coordinator, "Daria") == [person.pk]


def test_people_reindex_command_bad_batch_is_a_clear_error(unsealed: list[str]) -> None:
    with pytest.raises(CommandError, match="batch size must be at least 1"):
        call_command("people", "reindex", "--batch", "0")
