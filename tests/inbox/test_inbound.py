from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from agent import service as agent_service
from bookings.models import BookingSession
from core.queue import get_queue
from followups.models import Followup
from inbox.inbound import receive_sms
from inbox.marketing import request_marketing_opt_in
from inbox.models import ConsentEvent, Contact, Event, Message, Thread
from tests.factories import make_tenant
from tests.inbox.helpers import MIDDAY

TO = "+14155550100"
CUSTOMER = "+14155550134"
_sids = iter(range(10_000))


def text(session, body: str, **kwargs):
    kwargs.setdefault("now", MIDDAY)
    return receive_sms(
        session, to=TO, from_=CUSTOMER, body=body, provider_sid=f"SM{next(_sids):032d}", **kwargs
    )


def ledger(session) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.category, e.source)
        for e in session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
    ]


def outbound(session) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.direction == "outbound").order_by(Message.id)))


def scheduled_followup(session, tenant, contact: Contact) -> Followup:
    booking = BookingSession(account_id=tenant.account.id, external_id="sess_42", contact_id=contact.id)
    session.add(booking)
    session.flush()
    followup = Followup(
        account_id=tenant.account.id,
        session_id=booking.id,
        contact_id=contact.id,
        due_at=MIDDAY + timedelta(minutes=15),
    )
    session.add(followup)
    session.flush()
    return followup


def agent_jobs(message_id: int) -> list[str]:
    queue = get_queue()
    ids = queue.job_ids + ScheduledJobRegistry(queue=queue).get_job_ids()
    jobs = [queue.fetch_job(i) for i in ids]
    return [
        j.func_name
        for j in jobs
        if j is not None and j.args[:1] == (message_id,) and j.func_name.startswith("agent")
    ]


@pytest.fixture
def tenant(session):
    return make_tenant(session)


def test_stop_writes_ledger_flags_and_closes_thread_and_confirms_once(session, tenant) -> None:
    first = text(session, "Hi there")
    result = text(session, "STOP")
    session.commit()
    assert result.compliance == "opt_out"
    assert result.contact.opted_out is True
    assert (result.thread.opted_out, result.thread.status) == (True, "resolved")
    assert ledger(session) == [("opt_out", "all", "keyword")]
    replies = outbound(session)
    assert len(replies) == 1 and replies[0].compliance and replies[0].decision == "send"
    assert "unsubscribed" in replies[0].body and "START" in replies[0].body
    assert result.thread.id == first.thread.id


def test_keyword_text_still_appears_in_its_thread(session, tenant) -> None:
    result = text(session, "stop.")
    inbound = session.scalars(
        select(Message).where(Message.thread_id == result.thread.id, Message.direction == "inbound")
    ).all()
    assert [m.body for m in inbound] == ["stop."]


def test_second_stop_from_an_opted_out_contact_gets_no_second_confirmation(session, tenant) -> None:
    text(session, "STOP")
    text(session, "UNSUBSCRIBE", now=MIDDAY + timedelta(hours=1))
    assert len(outbound(session)) == 1


def test_stop_cancels_pending_followup(session, tenant) -> None:
    contact = text(session, "Hello").contact
    followup = scheduled_followup(session, tenant, contact)
    text(session, "STOP")
    assert (followup.status, followup.cancelled_by) == ("cancelled", "opt_out")


def test_ordinary_reply_cancels_pending_followup_as_inbound_reply(session, tenant) -> None:
    contact = text(session, "Hello").contact
    followup = scheduled_followup(session, tenant, contact)
    text(session, "Is Thursday ok?")
    assert (followup.status, followup.cancelled_by) == ("cancelled", "inbound_reply")


def test_ordinary_reply_on_agent_thread_schedules_an_agent_turn(session, tenant, monkeypatch) -> None:
    monkeypatch.setattr(agent_service, "agent_available", lambda: True)
    thread = text(session, "Hello").thread
    thread.owner = "agent"
    message = text(session, "Does 3pm tomorrow work?").message
    session.commit()
    assert agent_jobs(message.id)


def test_stop_on_agent_thread_stops_the_agent_and_schedules_no_turn(session, tenant, monkeypatch) -> None:
    monkeypatch.setattr(agent_service, "agent_available", lambda: True)
    thread = text(session, "Hello").thread
    thread.owner = "agent"
    result = text(session, "please stop texting me")
    session.commit()
    assert result.compliance == "opt_out"
    assert result.thread.owner == "none"
    assert agent_jobs(result.message.id) == []
    assert ledger(session) == [("opt_out", "all", "plain_language")]


def test_agent_turn_is_not_scheduled_when_agent_is_unavailable(session, tenant) -> None:
    thread = text(session, "Hello").thread
    thread.owner = "agent"
    message = text(session, "Does 3pm work?").message
    session.commit()
    assert agent_jobs(message.id) == []


def test_yes_without_a_pending_request_is_an_ordinary_reply(session, tenant, monkeypatch) -> None:
    monkeypatch.setattr(agent_service, "agent_available", lambda: True)
    thread = text(session, "Can someone come Friday?").thread
    thread.owner = "agent"
    result = text(session, "Yes")
    session.commit()
    assert result.compliance is None
    assert ledger(session) == []
    assert outbound(session) == []
    assert agent_jobs(result.message.id)


def test_yes_completes_a_pending_marketing_double_opt_in(session, tenant) -> None:
    thread = text(session, "Hello").thread
    request = request_marketing_opt_in(session, thread, user_id=tenant.csr.id, now=MIDDAY)
    assert "Reply YES" in request.body and request.decision == "send"
    result = text(session, "YES", now=MIDDAY + timedelta(hours=2))
    assert result.compliance == "marketing_opt_in"
    assert result.contact.marketing_opt_in == "confirmed"
    assert ledger(session) == [("opt_in_requested", "marketing", "csr"), ("opt_in", "marketing", "keyword")]
    assert "offers" in result.reply.body


def test_yes_after_the_opt_in_window_is_not_consent(session, tenant) -> None:
    thread = text(session, "Hello").thread
    request_marketing_opt_in(session, thread, now=MIDDAY)
    result = text(session, "yes", now=MIDDAY + timedelta(days=8))
    assert result.compliance is None
    assert result.contact.marketing_opt_in == "pending"


def test_start_opts_an_opted_out_contact_back_in(session, tenant) -> None:
    text(session, "STOP")
    result = text(session, "START", now=MIDDAY + timedelta(days=1))
    assert result.compliance == "opt_in"
    assert result.contact.opted_out is False
    assert (result.thread.opted_out, result.thread.status) == (False, "open")
    assert ledger(session) == [("opt_out", "all", "keyword"), ("opt_in", "all", "keyword")]
    assert "subscribed" in result.reply.body


def test_yes_from_an_opted_out_contact_opts_them_back_in(session, tenant) -> None:
    text(session, "STOP")
    result = text(session, "Yes", now=MIDDAY + timedelta(days=1))
    assert result.compliance == "opt_in" and result.contact.opted_out is False


def test_help_answers_with_business_name_how_to_reach_it_and_stop(session, tenant) -> None:
    result = text(session, "HELP")
    assert result.compliance == "help"
    body = result.reply.body
    assert "Reyes Plumbing" in body and "(415) 555-0100" in body and "Reply STOP to opt out" in body
    assert ledger(session) == [("help", "all", "keyword")]


def test_help_is_answered_even_after_an_opt_out(session, tenant) -> None:
    text(session, "STOP")
    result = text(session, "info", now=MIDDAY + timedelta(hours=1))
    assert result.reply is not None and result.reply.decision == "send"


def test_bare_cancel_confirmation_says_how_to_change_a_booking(session, tenant) -> None:
    result = text(session, "Cancel")
    assert result.compliance == "opt_out"
    assert "change or cancel a booking" in result.reply.body and "(415) 555-0100" in result.reply.body


def test_provider_handling_opt_out_means_no_confirmation_from_us(session, tenant) -> None:
    tenant.account.provider_handles_opt_out = True
    stop = text(session, "STOP", opt_out_type="STOP")
    help_ = text(session, "HELP", opt_out_type="HELP", now=MIDDAY + timedelta(minutes=1))
    assert stop.contact.opted_out is True
    assert (stop.reply, help_.reply) == (None, None)
    assert outbound(session) == []
    assert ledger(session) == [("opt_out", "all", "provider"), ("help", "all", "provider")]


def test_plain_language_opt_out_is_confirmed_even_when_provider_answers_keywords(session, tenant) -> None:
    tenant.account.provider_handles_opt_out = True
    result = text(session, "remove me from your list")
    assert result.contact.opted_out is True
    assert result.reply is not None


def test_message_that_only_mentions_stop_is_not_an_opt_out(session, tenant) -> None:
    result = text(session, "I can't stop the leak")
    assert result.compliance is None
    assert result.contact.opted_out is False
    assert ledger(session) == []


def test_inbound_reopens_a_resolved_thread_and_counts_unread(session, tenant) -> None:
    thread = text(session, "Hello").thread
    thread.status, thread.unread_count = "resolved", 0
    result = text(session, "One more question", now=MIDDAY + timedelta(hours=3))
    assert result.thread.id == thread.id
    assert (thread.status, thread.unread_count, thread.last_message_at) == (
        "open",
        1,
        MIDDAY + timedelta(hours=3),
    )


def test_inbound_text_emits_message_created_then_thread_updated(session, tenant) -> None:
    text(session, "Hello")
    session.commit()
    events = list(session.scalars(select(Event).order_by(Event.id)))
    assert [e.type for e in events] == ["message.created", "thread.updated"]
    assert events[0].payload["body"] == "Hello" and events[0].payload["direction"] == "inbound"


def test_stop_emits_events_for_the_stop_and_its_confirmation(session, tenant) -> None:
    text(session, "STOP")
    session.commit()
    created = [
        e.payload["direction"]
        for e in session.scalars(select(Event).where(Event.type == "message.created").order_by(Event.id))
    ]
    assert created == ["inbound", "outbound"]


def test_a_new_thread_for_an_opted_out_contact_is_flagged(session, tenant) -> None:
    contact = Contact(account_id=tenant.account.id, phone=CUSTOMER, opted_out=True)
    session.add(contact)
    session.flush()
    result = text(session, "hello again")
    assert result.thread.opted_out is True
    assert session.scalar(select(Thread)).id == result.thread.id


def test_nul_characters_are_dropped_from_an_inbound_body(session, tenant) -> None:
    result = text(session, "leak\x00 under sink")
    session.commit()
    assert result.message.body == "leak under sink"


def test_same_message_sid_arriving_twice_at_once_stores_one_message(session, tenant) -> None:
    first = text(session, "Hello")
    session.commit()
    # No look-up precedes the insert, so a second delivery racing the first takes this same path:
    # the insert finds the MessageSid taken and the stored message is returned.
    again = receive_sms(
        session, to=TO, from_=CUSTOMER, body="Hello", provider_sid=first.message.provider_sid, now=MIDDAY
    )
    session.commit()
    assert again.duplicate is True and again.message.id == first.message.id
    assert session.scalar(select(Thread)).unread_count == 1
    assert len(session.scalars(select(Message)).all()) == 1
