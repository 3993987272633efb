"""Housing tests use the cases fixtures: an unsealed keyring and cases at every step."""

from tests.cases.conftest import (
    _fast_passwords,
    agent_process,
    api,
    assigned,
    data_dir,
    driver,
    local_agent,
    opened,
    sealed_middleware,
    shares,
    unsealed,
)

__all__ = ["_fast_passwords", "agent_process", "api", "assigned", "data_dir", "driver", "local_agent", "opened",
           "sealed_middleware", "shares", "unsealed"]
