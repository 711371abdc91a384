"""Realtime events: their names, and how they are written and published.

An event is a row in the event log (so a reconnecting browser can catch up from its last id)
and, once the transaction commits, a Redis publish on the account's channel, which the
channels plugin fans out to every connected CSR browser of that account.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import on_commit
from core.queue import get_redis
from inbox.models import Contact, Event, Thread
from inbox.serializers import thread_json

MESSAGE_CREATED = "message.created"
MESSAGE_STATUS = "message.status"
THREAD_UPDATED = "thread.updated"
NOTE_CREATED = "note.created"
FOLLOWUP_UPDATED = "followup.updated"
BOOKING_CREATED = "booking.created"
# Ephemeral: not logged, never replayed.
PRESENCE = "presence"
TYPING = "typing"


def channel_for(account_id: int) -> str:
    return f"account.{account_id}"


def _publish(account_id: int, data: dict[str, Any]) -> None:
    get_redis().publish(channel_for(account_id), json.dumps(data, default=str))


def emit(session: Session, account_id: int, type: str, payload: dict[str, Any],
         thread_id: int | None = None) -> Event:
    """Log an event in this transaction; publish it to the account's browsers after commit."""
    event = Event(account_id=account_id, type=type, thread_id=thread_id, payload=payload)
    session.add(event)
    session.flush()
    data = envelope(event)
    on_commit(session, lambda: _publish(account_id, data))
    return event


def thread_changed(session: Session, thread: Thread, contact: Contact | None = None) -> Event:
    """`thread.updated` with the thread as the list shows it (the one way to announce a thread change)."""
    session.flush()
    contact = contact or session.get(Contact, thread.contact_id)
    assert contact is not None
    return emit(session, thread.account_id, THREAD_UPDATED, thread_json(thread, contact), thread_id=thread.id)


def publish_ephemeral(account_id: int, type: str, payload: dict[str, Any]) -> None:
    """Presence and typing: published now, not logged, lost if nobody listens."""
    _publish(account_id, {"id": None, "type": type, "payload": payload})


def envelope(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "thread_id": event.thread_id, "payload": event.payload}


def events_since(session: Session, account_id: int, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """The account's logged events with id > after_id, oldest first."""
    rows = session.scalars(
        select(Event).where(Event.account_id == account_id, Event.id > after_id).order_by(Event.id).limit(limit)
    )
    return [envelope(e) for e in rows]
