"""The key agent's cache generation, in process (the socket is tested in test_agent_e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.keyring import agent, client


@pytest.fixture
def page(tmp_path: Path) -> agent.GenerationPage:
    return agent.GenerationPage(tmp_path / agent.GENERATION_FILE)


def _read(page: agent.GenerationPage) -> int | None:
    return client._Page().read(str(page.path))


def test_generation_is_published_only_while_unsealed_and_no_erase_runs(
        page: agent.GenerationPage) -> None:
    key_agent = agent.KeyAgent()
    key_agent.page = page
    made = key_agent.handle({"op": "init", "keyset": "ks", "shares": 3, "threshold": 2})
    assert made["ok"]
    unsealed = _read(page)
    assert unsealed == key_agent.published() != 0
    token = key_agent.handle({"op": "shred_begin"})["token"]
    assert _read(page) == 0
    key_agent.handle({"op": "shred_end", "token": token})
    after_erase = _read(page)
    assert after_erase not in (0, unsealed)
    key_agent.handle({"op": "forget", "keyset": "other"})  # nothing to forget: still a new one
    assert _read(page) not in (0, after_erase)
    key_agent.handle({"op": "forget", "keyset": "ks"})
    assert _read(page) == 0
    key_agent.handle({"op": "seal"})
    assert _read(page) == 0
    page.close()
    assert _read(page) is None
