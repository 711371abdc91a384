"""Realtime events: their names, and how they are written and published.

An event is a row in the event log (so a reconnecting browser can catch up from its last id)
and, once the transaction commits, a Redis publish on the account's channel, which the
channels plugin fans out to every connected CSR browser of that account. Events published
together share one Redis message, one JSON document per line.

A transaction's events are written together, in one INSERT just before it commits: an inbound
batch emits two per text, and one statement of plain rows costs a fraction of an ORM object and
an INSERT each. Events emitted inside a savepoint that rolls back are dropped with it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import event, insert, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from core.db import insert_rows, json_rows_insert, on_commit
from core.queue import get_redis
from inbox.models import Contact, Event, Thread
from inbox.serializers import thread_json

log = logging.getLogger(__name__)

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


_outgoing: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
_publisher: threading.Thread | None = None
_publisher_lock = threading.Lock()


def _publish_all(logged: list[dict[str, Any]]) -> None:
    """Hand the logged events to this process's publisher thread: a request or job never waits on Redis."""
    global _publisher
    for row in logged:
        data = {"id": row["id"], "type": row["type"], "thread_id": row["thread_id"], "payload": row["payload"]}
        _outgoing.put((channel_for(row["account_id"]), json.dumps(data, default=str)))
    if _publisher is None or not _publisher.is_alive():
        with _publisher_lock:
            if _publisher is None or not _publisher.is_alive():
                _publisher = threading.Thread(target=_drain, name="textdesk-publisher", daemon=True)
                _publisher.start()


def _drain() -> None:
    while True:
        batch = [_outgoing.get()]
        while len(batch) < 500 and not _outgoing.empty():
            batch.append(_outgoing.get_nowait())
        # One message per channel: the events of a busy moment, one JSON document per line (JSON
        # never holds a raw newline); the websocket sends each line as a frame of its own.
        lines: dict[str, list[str]] = {}
        for channel, data in batch:
            lines.setdefault(channel, []).append(data)
        try:
            pipe = get_redis().pipeline(transaction=False)
            for channel, data_lines in lines.items():
                pipe.publish(channel, "\n".join(data_lines))
            pipe.execute()
        except RedisError:
            # The events are in the log: every browser catches up on them when it reconnects.
            log.warning("redis unavailable: %d realtime events not pushed", len(batch))


_PENDING = "textdesk.events"  # session.info: [(innermost savepoint or None, event row)], in emission order


def emit(session: Session, account_id: int, type: str, payload: dict[str, Any],
         thread_id: int | None = None) -> None:
    """Log an event in this transaction; publish it to the account's browsers after commit."""
    row = {"account_id": account_id, "type": type, "thread_id": thread_id, "payload": payload}
    if not session.in_transaction():
        session.begin()  # as `session.add` would: a rollback from here on takes the event with it
    session.info.setdefault(_PENDING, []).append((session.get_nested_transaction(), row))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release: the outer commit writes them
        _write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _before_reading_events(state: ORMExecuteState) -> None:
    """Like autoflush: a read of the event log in the transaction sees the events emitted so far."""
    if state.session.info.get(_PENDING) and state.is_select and Event.__mapper__ in state.all_mappers:
        _write_pending(state.session)


_LOG_TABLE = Event.metadata.tables[Event.__tablename__]
# Plain rows, no ORM object per event; built once, as every inbound batch writes events.
_LOG_EVENTS = insert(_LOG_TABLE).returning(_LOG_TABLE.c.id)
_LOG_EVENTS_POSTGRES = json_rows_insert(_LOG_TABLE, ["account_id", "type", "thread_id", "payload"]).returning(
    _LOG_TABLE.c.id)


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows = [row for _, row in pending]
    # One statement assigns the ids in row order; RETURNING's own order is not promised, so sort them.
    ids = sorted(insert_rows(session, _LOG_EVENTS_POSTGRES, _LOG_EVENTS, rows))
    logged = [{"id": id_, **row} for id_, row in zip(ids, rows, strict=True)]
    on_commit(session, lambda: _publish_all(logged))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """What a rollback undoes it un-emits: all of it, or a savepoint's own events."""
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(t, row) for t, row in pending if previous.nested and not _within(t, previous)]


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # closed without a commit (a commit has written them already)
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while transaction is not None and transaction is not savepoint:
        transaction = transaction.parent
    return transaction is savepoint


def thread_changed(session: Session, thread: Thread, contact: Contact | None = None) -> None:
    """`thread.updated` with the thread as the list shows it (the one way to announce a thread change)."""
    contact = contact or session.get(Contact, thread.contact_id)
    assert contact is not None
    # Written first, so the event carries the thread's new `updated_at`: pages keep the newer of two states.
    if thread.id is None or contact.id is None or session.is_modified(thread, include_collections=False):
        session.flush()
    emit(session, thread.account_id, THREAD_UPDATED, thread_json(thread, contact), thread_id=thread.id)


def publish_ephemeral(account_id: int, type: str, payload: dict[str, Any]) -> None:
    """Presence and typing: published now, not logged, lost if nobody listens."""
    get_redis().publish(channel_for(account_id), json.dumps({"id": None, "type": type, "payload": payload}))


def envelope(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "thread_id": event.thread_id, "payload": event.payload}


def events_since(session: Session, account_id: int, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """The account's logged events with id > after_id, oldest first."""
    rows = session.scalars(
        select(Event).where(Event.account_id == account_id, Event.id > after_id).order_by(Event.id).limit(limit)
    )
    return [envelope(e) for e in rows]
