"""The event log: a transaction's events are written together at commit, in emission order, and
whatever a rollback undoes it un-emits."""

from __future__ import annotations

from sqlalchemy import select

from core import db
from inbox import events
from inbox.models import Contact, Event, Thread
from inbox.threads import mark_read
from tests.factories import make_tenant


def logged(session) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return [(e.type, e.payload) for e in session.scalars(select(Event).order_by(Event.id))]


def test_events_of_one_commit_get_ascending_ids_in_the_order_they_were_emitted(session) -> None:
    account_id = make_tenant(session).account.id
    for n in range(30):
        events.emit(session, account_id, events.NOTE_CREATED if n % 2 else events.THREAD_UPDATED, {"n": n})
    session.commit()

    rows = session.scalars(select(Event).order_by(Event.id)).all()
    assert [e.payload["n"] for e in rows] == list(range(30))
    assert [e.type for e in rows[:2]] == [events.THREAD_UPDATED, events.NOTE_CREATED]


def test_a_read_of_the_log_in_the_transaction_sees_what_it_emitted(session) -> None:
    account_id = make_tenant(session).account.id
    events.emit(session, account_id, events.NOTE_CREATED, {"n": 1})

    assert logged(session) == [(events.NOTE_CREATED, {"n": 1})]
    session.rollback()
    assert logged(session) == []


def test_a_rolled_back_savepoint_takes_only_its_own_events(session) -> None:
    account_id = make_tenant(session).account.id
    events.emit(session, account_id, events.NOTE_CREATED, {"before": True})
    savepoint = session.begin_nested()
    events.emit(session, account_id, events.NOTE_CREATED, {"inside": True})
    savepoint.rollback()
    events.emit(session, account_id, events.NOTE_CREATED, {"after": True})
    session.commit()

    assert [payload for _, payload in logged(session)] == [{"before": True}, {"after": True}]


def test_events_of_a_released_savepoint_are_committed_with_the_transaction(session) -> None:
    account_id = make_tenant(session).account.id
    with session.begin_nested():
        events.emit(session, account_id, events.NOTE_CREATED, {"inside": True})
    session.commit()

    assert logged(session) == [(events.NOTE_CREATED, {"inside": True})]


def test_a_session_closed_without_committing_writes_none_of_its_events(session) -> None:
    account_id = make_tenant(session).account.id
    other = db.get_sessionmaker()()
    events.emit(other, account_id, events.NOTE_CREATED, {"lost": True})
    other.close()
    other.commit()  # a later commit of the same session object has nothing left to write

    assert logged(session) == []


def test_a_thread_change_is_announced_with_its_new_updated_at_so_pages_keep_the_newer_state(session) -> None:
    tenant = make_tenant(session)
    contact = Contact(account_id=tenant.account.id, phone="+14155550177")
    session.add(contact)
    session.flush()
    thread = Thread(account_id=tenant.account.id, contact_id=contact.id, status="open", owner="none", unread_count=2)
    session.add(thread)
    session.commit()
    before = thread.updated_at.isoformat(timespec="microseconds")

    mark_read(session, thread)  # a change with nothing written in between
    session.commit()

    [announced] = [payload for kind, payload in logged(session) if kind == events.THREAD_UPDATED]
    assert announced["unread_count"] == 0
    assert announced["updated_at"] == thread.updated_at.isoformat(timespec="microseconds") > before
