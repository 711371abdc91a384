"""The agent's tunables (`TEXTDESK_AGENT_*`, parsed and validated in `core.settings`).

Read anew on each call rather than from the cached settings, so an operator restarting a worker
or a test setting the environment changes them without a cache reset.
"""

from __future__ import annotations

from core.settings import AgentTunables

AgentConfig = AgentTunables


def agent_config() -> AgentTunables:
    """Current agent tunables."""
    return AgentTunables.from_env()
