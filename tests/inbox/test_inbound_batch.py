"""Texts that arrive together are stored in one transaction, each exactly as if it had come alone."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from bookings.models import BookingSession
from core import db, hooks
from followups.models import Followup
from inbox.accounts import ValidationError
from inbox.inbound import InboundResult, InboundText, UnknownRecipient, receive_texts
from inbox.models import Contact, Event, Message, Thread
from tests.factories import make_tenant
from tests.inbox.helpers import MIDDAY
from tests.inbox.test_inbound import outbound
from webhooks import inbound_writer

TO = "+14155550100"
ANA, BEN = "+14155550134", "+14155550135"
_sids = iter(range(10_000))


def texts(*items: tuple[str, str, str]) -> list[InboundText]:
    return [InboundText(to=to, from_=sender, body=body, provider_sid=f"SMbatch{next(_sids):026d}", now=MIDDAY)
            for to, sender, body in items]


def scheduled_followup(session, contact: Contact) -> Followup:
    booking = BookingSession(account_id=contact.account_id, external_id=f"sess_{contact.id}", contact_id=contact.id)
    session.add(booking)
    session.flush()
    followup = Followup(account_id=contact.account_id, session_id=booking.id, contact_id=contact.id,
                        due_at=MIDDAY + timedelta(minutes=15))
    session.add(followup)
    return followup


@contextmanager
def statements_matching(pattern: str) -> Iterator[list[str]]:
    """The SQL statements run inside the block that `pattern` (a regex) finds, in order."""
    found: list[str] = []

    def keep(_conn, _cursor, statement: str, *_args) -> None:
        if re.search(pattern, statement):
            found.append(statement)

    event.listen(db.get_engine(), "before_cursor_execute", keep)
    try:
        yield found
    finally:
        event.remove(db.get_engine(), "before_cursor_execute", keep)


def reads_from(tables: str) -> AbstractContextManager[list[str]]:
    """The SELECTs whose FROM names one of `tables` (a regex alternation), run inside the block."""
    return statements_matching(rf"^\s*SELECT\b[\s\S]*\sFROM ({tables})\b")


def inbound(session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.direction == "inbound").order_by(Message.id)))


def test_each_text_of_a_batch_is_stored_on_its_contacts_thread_with_one_thread_update_each(session) -> None:
    make_tenant(session)
    results = receive_texts(session, texts((TO, ANA, "hi"), (TO, BEN, "hello"), (TO, ANA, "are you there?")))
    session.commit()

    assert [type(r) for r in results] == [InboundResult] * 3
    assert [m.body for m in inbound(session)] == ["hi", "hello", "are you there?"]
    ana = session.scalars(select(Contact).where(Contact.phone == ANA)).one()
    [thread] = session.scalars(select(Thread).where(Thread.contact_id == ana.id)).all()
    assert thread.unread_count == 2
    assert {r.thread.id for r in results[::2]} == {thread.id}
    updates = session.scalars(select(Event).where(Event.type == "thread.updated")).all()
    assert sorted(e.thread_id for e in updates) == sorted({r.thread.id for r in results})
    assert [e.payload["body"] for e in session.scalars(
        select(Event).where(Event.type == "message.created").order_by(Event.id))] == ["hi", "hello", "are you there?"]


def test_a_text_refused_alone_leaves_the_others_of_its_batch_stored(session) -> None:
    make_tenant(session)
    results = receive_texts(session, texts((TO, ANA, "one"), (TO, "not a phone", "two"), ("+12125550199", BEN, "x"),
                                           (TO, BEN, "four")))
    session.commit()

    assert isinstance(results[1], ValidationError) and "From" in str(results[1])
    assert isinstance(results[2], UnknownRecipient)
    assert [m.body for m in inbound(session)] == ["one", "four"]


def test_the_same_message_sid_twice_in_one_batch_is_stored_once(session) -> None:
    make_tenant(session)
    [first, again] = receive_texts(session, [InboundText(to=TO, from_=ANA, body="hi", provider_sid="SM" + "7" * 32)] * 2)
    session.commit()

    assert isinstance(first, InboundResult) and isinstance(again, InboundResult)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.message.id == first.message.id
    assert len(inbound(session)) == 1


def test_a_stop_in_a_batch_opts_out_and_cancels_the_follow_ups_of_every_contact_that_wrote(session) -> None:
    make_tenant(session)
    receive_texts(session, texts((TO, ANA, "hello"), (TO, BEN, "hello")))
    contacts = {c.phone: c for c in session.scalars(select(Contact))}
    followups = [scheduled_followup(session, contacts[ANA]), scheduled_followup(session, contacts[BEN])]
    session.commit()

    results = receive_texts(session, texts((TO, ANA, "Is 3pm free?"), (TO, BEN, "STOP")))
    session.commit()

    assert [r.compliance for r in results if isinstance(r, InboundResult)] == [None, "opt_out"]
    session.expire_all()
    assert contacts[BEN].opted_out and not contacts[ANA].opted_out
    assert [f.status for f in followups] == ["cancelled", "cancelled"]
    assert [m.body for m in outbound(session)] == [
        "Reyes Plumbing: you're unsubscribed and will get no more texts from us. Reply START to resubscribe."]


def test_a_batch_that_fails_is_stored_again_one_text_at_a_time(session) -> None:
    make_tenant(session)

    def fail_on_boom(session, *, received) -> None:
        if any(r.message.body == "boom" for r in received):
            raise RuntimeError("a reaction failed on this text")

    hooks.register(hooks.TEXTS_RECEIVED, fail_on_boom)
    try:
        outcomes = inbound_writer.write([{"to": TO, "from_": ANA, "body": body, "provider_sid": f"SMfail{n:028d}"}
                                         for n, body in enumerate(["before", "boom", "after"])])
    finally:
        hooks._handlers[hooks.TEXTS_RECEIVED].remove(fail_on_boom)

    assert isinstance(outcomes[0], InboundResult) and isinstance(outcomes[2], InboundResult)
    assert isinstance(outcomes[1], RuntimeError)
    assert [m.body for m in inbound(session)] == ["before", "after"]


def test_texts_handed_to_the_writer_at_once_are_each_stored_once_and_share_transactions(session) -> None:
    make_tenant(session)
    commits: list[int] = []
    listener = lambda _session: commits.append(1)  # noqa: E731
    event.listen(db.get_sessionmaker(), "after_commit", listener)

    async def send_all() -> list[inbound_writer.Outcome]:
        return await asyncio.gather(*(inbound_writer.store(
            {"to": TO, "from_": f"+1415555{n:04d}", "body": f"text {n}", "provider_sid": f"SMtogether{n:024d}"})
            for n in range(40)))

    try:
        outcomes = asyncio.run(send_all())
    finally:
        event.remove(db.get_sessionmaker(), "after_commit", listener)

    assert all(isinstance(o, InboundResult) and not o.duplicate for o in outcomes)
    assert sorted(m.body for m in inbound(session)) == sorted(f"text {n}" for n in range(40))
    assert len(commits) < 40


def test_a_known_customers_text_reads_no_account_row_and_a_keyword_reply_uses_the_accounts_settings_as_changed(
        session) -> None:
    tenant = make_tenant(session)
    inbound_writer.write([{"to": TO, "from_": ANA, "body": "hi", "provider_sid": "SMaccount" + "0" * 25}])
    with reads_from("accounts") as reads:
        [second] = inbound_writer.write([{"to": TO, "from_": ANA, "body": "hello", "provider_sid": "SMaccount" + "1" * 25}])
        assert isinstance(second, InboundResult) and reads == []
        tenant.account.name = "Reyes & Daughters Plumbing"  # an admin renames the business meanwhile
        session.commit()
        [stop] = inbound_writer.write([{"to": TO, "from_": ANA, "body": "STOP", "provider_sid": "SMaccount" + "2" * 25}])

    assert isinstance(stop, InboundResult) and stop.reply is not None
    assert stop.reply.body.startswith("Reyes & Daughters Plumbing: you're unsubscribed")
    assert len(reads) == 1  # the keyword's reply read the row, once


def test_known_customers_contacts_and_latest_threads_come_from_one_read_and_a_resolved_one_is_continued(
        session) -> None:
    make_tenant(session)
    receive_texts(session, texts((TO, ANA, "first visit"), (TO, BEN, "hello")))
    session.commit()
    ana = session.scalars(select(Contact).where(Contact.phone == ANA)).one()
    older = session.scalars(select(Thread).where(Thread.contact_id == ana.id)).one()
    latest = Thread(account_id=ana.account_id, contact_id=ana.id, status="resolved", owner="none")
    session.add(latest)
    session.commit()
    with reads_from("contacts|threads") as reads:
        results = receive_texts(session, texts((TO, ANA, "the leak is back"), (TO, BEN, "thanks")))
    session.commit()

    assert len(reads) == 1, reads
    ana_result, ben_result = results
    assert isinstance(ana_result, InboundResult) and isinstance(ben_result, InboundResult)
    assert ana_result.thread.id == latest.id != older.id
    assert ana_result.thread.status == "open"  # the customer's text reopened it
    assert ben_result.thread.contact_id == ben_result.contact.id and ben_result.contact.phone == BEN


def test_on_postgresql_a_batch_of_any_size_stores_its_texts_and_events_with_the_same_two_inserts(session) -> None:
    if db.get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite takes a multi-row VALUES list: its driver has no per-statement parse to save")
    make_tenant(session)
    picture = [{"url": "https://media.example.com/leak.jpg", "content_type": "image/jpeg"}]
    with statements_matching(r"^INSERT INTO (messages|events)\b") as inserts:
        receive_texts(session, [replace(texts((TO, ANA, "alone"))[0], media=picture)])
        session.commit()  # the events are written as the transaction commits
        receive_texts(session, texts(*[(TO, f"+1415555{n:04d}", f"text {n}") for n in range(7)]))
        session.commit()

    # Each batch: one INSERT for its texts, one for their events, the same two whatever the batch size.
    assert len(inserts) == 4 and len(set(inserts)) == 2, inserts
    [alone] = [m for m in inbound(session) if m.body == "alone"]
    assert (alone.attachments, alone.created_at) == (picture, MIDDAY)
    assert len(inbound(session)) == 8
    assert session.scalar(select(func.count()).select_from(Event).where(Event.type == "message.created")) == 8


def test_a_reps_mark_read_while_a_batch_is_stored_is_kept_and_the_batchs_text_still_counts_as_unread(session) -> None:
    if db.get_engine().dialect.name != "postgresql":
        pytest.skip("the race needs two writers at once; SQLite has one at a time")
    make_tenant(session)
    [first] = receive_texts(session, texts((TO, ANA, "the sink leaks")))
    session.commit()
    assert isinstance(first, InboundResult) and first.thread.unread_count == 1
    thread_id = first.thread.id

    def mark_read_meanwhile(_conn, _cursor, statement: str, *_args) -> None:
        # The batch has read the thread (unread 1); a rep opens it and commits before the batch writes.
        if statement.startswith("INSERT INTO messages"):
            with db.get_engine().begin() as rep:
                rep.execute(update(Thread).where(Thread.id == thread_id).values(unread_count=0))

    event.listen(db.get_engine(), "before_cursor_execute", mark_read_meanwhile)
    try:
        receive_texts(session, texts((TO, ANA, "and now the pipe too")))
        session.commit()
    finally:
        event.remove(db.get_engine(), "before_cursor_execute", mark_read_meanwhile)

    session.expire_all()
    assert session.get(Thread, thread_id).unread_count == 1  # the rep's read kept, the new text unread
