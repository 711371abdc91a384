"""The agent's tunables, read from the environment each time they are needed.

They live here rather than in `core.settings` because only the agent uses them; reading them
per call lets a test (or an operator restarting a worker) change them without a cache reset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


@dataclass(frozen=True)
class AgentConfig:
    debounce_seconds: float = 8.0  # a burst of texts within this window gets one answer
    timeout_seconds: float = 20.0  # per LLM request
    retries: int = 2  # extra attempts after the first, on 429 / 5xx / timeouts
    backoff_seconds: float = 1.0  # first retry delay; doubles each time
    max_tool_rounds: int = 5  # LLM round trips per customer turn
    max_agent_messages: int = 12  # agent texts per thread before a person takes over


def agent_config() -> AgentConfig:
    """Current agent tunables (`TEXTDESK_AGENT_*` environment variables)."""
    return AgentConfig(
        debounce_seconds=_number("TEXTDESK_AGENT_DEBOUNCE_SECONDS", 8.0),
        timeout_seconds=_number("TEXTDESK_AGENT_TIMEOUT_SECONDS", 20.0),
        retries=int(_number("TEXTDESK_AGENT_RETRIES", 2)),
        backoff_seconds=_number("TEXTDESK_AGENT_BACKOFF_SECONDS", 1.0),
        max_tool_rounds=int(_number("TEXTDESK_AGENT_MAX_TOOL_ROUNDS", 5)),
        max_agent_messages=int(_number("TEXTDESK_AGENT_MAX_MESSAGES", 12)),
    )
