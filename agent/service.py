"""The booking agent's entry points (the agent issue implements this module).

INTERFACE used by other packages:
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from inbox.models import Message, Thread


def agent_available() -> bool:
    """True when an LLM endpoint is configured (OPENAI_API_KEY or OPENAI_BASE_URL)."""
    from core.settings import get_settings

    return get_settings().agent_enabled


def schedule_turn(session: Session, message: Message) -> None:
    """Called for an inbound customer message on a thread the agent owns, inside the inbound
    transaction: enqueues (after commit) one agent turn keyed by the message, debounced."""


def start_followup_conversation(session: Session, thread: Thread, followup_id: int) -> Message | None:
    """Agent-mode follow-up: the agent's opening text (through the send gate); the thread's owner
    becomes the agent. Returns None when the agent is unavailable (the caller falls back to link mode)."""
    return None
