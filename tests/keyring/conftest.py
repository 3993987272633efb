from tests.keyring.fixtures import (
    agent_process,
    data_dir,
    local_agent,
    sealed_middleware,
    shares,
    unsealed,
)

__all__ = ["agent_process", "data_dir", "local_agent", "sealed_middleware", "shares", "unsealed"]
