from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from inbox.models import Account, Contact, Event, Message, SendingNumber
from inbox.sending import LastInbound, check_sendability, decide, send_text
from tests.factories import make_tenant
from tests.inbox.helpers import MIDDAY, make_thread


def test_allowed_text_is_queued_from_the_registered_number_and_announced(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id)
    message = send_text(
        session, thread, "Your tech is on the way", sender="csr", user_id=tenant.csr.id, now=MIDDAY
    )
    session.commit()
    assert (message.status, message.decision, message.block_reason) == ("queued", "send", None)
    assert message.from_number == "+14155550100"
    assert message.to_number == "+14155550134"
    types = [e.type for e in session.scalars(select(Event).order_by(Event.id))]
    assert types == ["message.created", "thread.updated"]


def test_opted_out_contact_is_blocked_with_reason_and_detail(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, opted_out=True)
    message = send_text(session, thread, "Hello", sender="csr", now=MIDDAY)
    assert (message.status, message.decision, message.block_reason) == ("blocked", "blocked", "opted_out")
    assert "opted out" in message.block_detail
    created = session.scalar(select(Event).where(Event.type == "message.created"))
    assert created.payload["block_reason"] == "opted_out"


def test_compliance_reply_reaches_an_opted_out_contact_at_night(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, opted_out=True)
    night = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # 23:00 in Los Angeles
    message = send_text(
        session, thread, "You're unsubscribed", sender="system", compliance_reply=True, now=night
    )
    assert (message.status, message.decision) == ("queued", "send")
    assert message.compliance is True


def test_marketing_without_written_opt_in_is_no_consent(session) -> None:
    tenant = make_tenant(session)
    contact_thread = make_thread(session, tenant.account.id)
    decision = check_sendability(
        session, session.get(Contact, contact_thread.contact_id), "marketing", MIDDAY
    )
    assert decision.reasons == ["no_consent"]


def test_marketing_text_gets_the_stop_footer_once(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, marketing_opt_in="confirmed")
    message = send_text(
        session, thread, "20% off tune-ups this week", sender="system", category="marketing", now=MIDDAY
    )
    assert message.body == "20% off tune-ups this week\nReply STOP to opt out"
    again = send_text(
        session, thread, "Sale! Reply STOP to opt out", sender="system", category="marketing", now=MIDDAY
    )
    assert again.body == "Sale! Reply STOP to opt out"


def test_no_number_registered_for_marketing_is_sender_not_registered(session) -> None:
    tenant = make_tenant(session)
    session.get(SendingNumber, tenant.number.id).marketing = False
    thread = make_thread(session, tenant.account.id, marketing_opt_in="confirmed")
    message = send_text(session, thread, "Spring promo", sender="system", category="marketing", now=MIDDAY)
    assert message.block_reason == "sender_not_registered"
    assert message.from_number is None
    assert "registered for marketing" in message.block_detail


def test_landline_and_invalid_numbers_are_blocked(session) -> None:
    tenant = make_tenant(session)
    landline = make_thread(session, tenant.account.id, phone="+14155550135", line_type="landline")
    invalid = make_thread(session, tenant.account.id, phone="+14155550136", line_type="invalid")
    assert send_text(session, landline, "Hi", sender="csr", now=MIDDAY).block_reason == "landline"
    assert send_text(session, invalid, "Hi", sender="csr", now=MIDDAY).block_reason == "invalid_number"


def test_same_body_to_same_contact_within_minutes_is_duplicate(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id)
    first = send_text(session, thread, "See you at 3pm", sender="csr", now=MIDDAY)
    second = send_text(session, thread, "See you at 3pm", sender="csr", now=MIDDAY + timedelta(minutes=2))
    later = send_text(session, thread, "See you at 3pm", sender="csr", now=MIDDAY + timedelta(minutes=30))
    assert first.decision == "send"
    assert second.block_reason == "duplicate"
    assert later.decision == "send"


def test_every_reason_is_listed_not_just_the_first(session) -> None:
    tenant = make_tenant(session)
    session.get(SendingNumber, tenant.number.id).marketing = False
    thread = make_thread(session, tenant.account.id, opted_out=True, line_type="landline")
    decision = check_sendability(session, session.get(Contact, thread.contact_id), "marketing", MIDDAY)
    assert decision.reasons == ["opted_out", "landline", "no_consent", "sender_not_registered"]
    assert not decision.allowed


def test_blocked_message_is_never_enqueued(session, worker) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, opted_out=True)
    message = send_text(session, thread, "Hello", sender="csr", now=MIDDAY)
    session.commit()
    worker()
    session.expire_all()
    assert session.get(Message, message.id).status == "blocked"
    assert session.get(Message, message.id).provider_sid is None


def test_the_gate_decides_from_what_was_read_without_a_database() -> None:
    account = Account(name="Bay Plumbing", timezone="America/Los_Angeles")
    contact = Contact(account_id=1, phone="+14155550134", timezone="America/Los_Angeles", opted_out=False)
    number = SendingNumber(phone="+14155550100", transactional=True, mps=1)
    noon = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 12:00 in Los Angeles
    allowed = decide(contact, account, "transactional", noon, last=LastInbound(), number=number)
    assert (allowed.allowed, allowed.from_number) == (True, "+14155550100")
    contact.opted_out = True
    late = noon + timedelta(hours=11)  # 23:00 there, no conversation open
    blocked = decide(contact, account, "transactional", late, last=LastInbound(), number=None)
    assert blocked.reasons == ["opted_out", "sender_not_registered", "quiet_hours"]
    assert blocked.retry_at == datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 8:00 there
    replying = decide(contact, account, "transactional", late, number=None,
                      last=LastInbound("+14155550100", late - timedelta(hours=1)))
    assert "quiet_hours" not in replying.reasons  # they texted an hour ago: they are waiting for the answer
