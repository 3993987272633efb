""""Seal now" asks once more, on a page of its own (no JavaScript needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from haven.audit.models import AuditEvent
from haven.keyring import state


def test_seal_now_asks_for_confirmation_before_sealing(
        unsealed: list[str], coordinator: Any, login: Callable[[Any], Client],
        sealed_middleware: None) -> None:
    client = login(coordinator)
    keys_page = client.get("/keyring/unseal/").content.decode()
    assert '<a class="button danger" href="/keyring/seal/">Seal now</a>' in keys_page
    assert 'action="/keyring/seal/"' not in keys_page  # no one-click seal
    confirm = client.get("/keyring/seal/")
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Seal the server now?" in page
    assert 'name="confirm" value="seal"' in page
    assert 'href="/keyring/unseal/">Cancel</a>' in page
    assert not state.is_sealed()
    unconfirmed = client.post("/keyring/seal/")
    assert unconfirmed.status_code == 400
    assert not state.is_sealed()
    assert not AuditEvent.objects.filter(action="keys.sealed").exists()
    sealed = client.post("/keyring/seal/", {"confirm": "seal"})
    assert sealed.status_code == 302
    assert state.is_sealed()
    assert AuditEvent.objects.filter(action="keys.sealed").count() == 1
    again = client.get("/keyring/seal/")
    assert "already sealed" in again.content.decode()
