"""What happened, announced by the domain; what to do about it, registered by its consumers.

The inbox core announces facts (a text arrived, a contact opted out, a booking was made) without
knowing who listens; `followups/`, `agent/` and the rest register their reactions once at start-up
(`web.wiring.wire`, shared by the web app, the worker and the CLI). Reactions run inside the
announcing transaction, in registration order, so what they write commits or rolls back with
the fact; work that must wait for the commit uses `core.db.on_commit` or the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

# The names announced, in one place (keyword arguments each carries are listed beside it).
TEXTS_RECEIVED = "texts.received"  # received: InboundResults in arrival order (message, thread, contact, compliance)
CONTACT_OPTED_OUT = "contact.opted_out"  # contact, source
CONTACT_OPTED_IN = "contact.opted_in"  # contact, source
THREAD_HANDED_OFF = "thread.handed_off"  # thread, reason
THREAD_TO_AGENT = "thread.to_agent"  # thread, followup_id: a follow-up hands the thread to the agent
BOOKING_CREATED = "booking.created"  # booking
BOOKING_CHANGED = "booking.changed"  # booking, change ("rescheduled" or "cancelled")
MESSAGE_STATUS = "message.status"  # message
FOLLOWUP_SENT = "followup.sent"  # followup, message

Handler = Callable[..., Any]
_handlers: dict[str, list[Handler]] = {}


def register(name: str, handler: Handler) -> None:
    """React to `name`; registering the same handler twice keeps one."""
    handlers = _handlers.setdefault(name, [])
    if handler not in handlers:
        handlers.append(handler)


def announce(session: Session, name: str, **facts: Any) -> list[Any]:
    """Run every reaction to `name` in `session`'s transaction; their results, in order."""
    return [handler(session, **facts) for handler in _handlers.get(name, ())]


def clear() -> None:
    """Forget every reaction (tests that check the core alone)."""
    _handlers.clear()
