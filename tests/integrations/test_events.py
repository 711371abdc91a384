"""Which announced facts become which outbound events, with what data, in the announcing transaction."""

from __future__ import annotations

from datetime import datetime

import pytest
import respx
from sqlalchemy import select

from agent.handoff import hand_off
from bookings.calendar import BuiltinCalendar
from followups.models import Followup
from inbox import consent
from inbox.models import Message
from inbox.status import apply_status
from integrations.endpoints import EVENTS
from tests.agent.conftest import local, next_weekday
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, past_due, post_event
from tests.integrations.helpers import HOOK_URL, book, deliveries, integrated_shop


@pytest.fixture(autouse=True)
def _allow_test_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTDESK_WEBHOOKS_ALLOW_PRIVATE", "1")


def test_booking_rescheduled_and_cancelled_carry_the_booking_contact_and_session_ref(client, session):
    setup = integrated_shop(client, session, events=list(EVENTS))
    shop = setup.shop
    booking = book(session, shop)
    BuiltinCalendar().reschedule(session, shop.account, booking, local(next_weekday(1), 14), contact_id=shop.contact.id)
    session.commit()
    BuiltinCalendar().cancel(session, shop.account, booking, contact_id=shop.contact.id)
    session.commit()
    rows = deliveries(session)
    assert [r.type for r in rows] == ["booking.created", "booking.rescheduled", "booking.cancelled"]
    assert len({r.webhook_id for r in rows}) == 3
    moved, cancelled = rows[1].payload["data"], rows[2].payload["data"]
    assert datetime.fromisoformat(moved["starts_at"]) == local(next_weekday(1), 14) and moved["status"] == "booked"
    assert cancelled["status"] == "cancelled" and cancelled["session_ref"] == "sess_42"
    assert cancelled["contact"]["phone"] == "+14155550134"


def test_an_endpoint_gets_only_the_events_it_subscribed_to(client, session):
    setup = integrated_shop(client, session, events=["contact.opted_out"])
    book(session, setup.shop)
    consent.opt_out(session, setup.shop.contact, source="keyword", raw_text="STOP")
    session.commit()
    rows = deliveries(session)
    assert [r.type for r in rows] == ["contact.opted_out"]
    assert rows[0].payload["data"] == {"contact": {"id": setup.shop.contact.id, "phone": "+14155550134",
                                                   "name": "Dana Reyes"}, "source": "keyword"}


def test_consent_handoff_and_message_status_become_events(client, session):
    setup = integrated_shop(client, session, events=list(EVENTS))
    shop = setup.shop
    consent.opt_out(session, shop.contact, source="keyword", raw_text="STOP")
    consent.opt_in(session, shop.contact, source="keyword", raw_text="START")
    hand_off(session, shop.thread, "customer_request", "Dana asked for a person.")
    message = Message(account_id=shop.account.id, thread_id=shop.thread.id, contact_id=shop.contact.id,
                      direction="outbound", sender="csr", body="On our way", status="sending",
                      from_number="+14155550100", to_number=shop.contact.phone)
    session.add(message)
    session.flush()
    apply_status(session, message, "delivered")
    session.commit()
    rows = deliveries(session)
    assert [r.type for r in rows] == ["contact.opted_out", "contact.opted_in", "thread.handed_off", "message.status"]
    assert rows[2].payload["data"]["reason"] == "customer_request" and rows[2].payload["data"]["owner"] == "csr"
    status = rows[3].payload["data"]
    assert (status["id"], status["status"], status["contact"]["id"]) == (message.id, "delivered", shop.contact.id)


def test_an_inbound_text_is_message_received(client, session, monkeypatch):
    setup = integrated_shop(client, session, events=["message.received"])
    response = client.post("/webhooks/twilio/messages", data={
        "MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": "+14155550134",
        "To": setup.tenant.number.phone, "Body": "Is Friday still good?", "NumMedia": "0"})
    assert response.status_code == 200
    rows = deliveries(session)
    assert [r.type for r in rows] == ["message.received"]
    data = rows[0].payload["data"]
    assert (data["body"], data["direction"], data["compliance"]) == ("Is Friday still good?", "inbound", None)
    assert data["contact"]["phone"] == "+14155550134"


def test_a_rolled_back_fact_writes_no_delivery(client, session):
    setup = integrated_shop(client, session, events=["contact.opted_out"])
    consent.opt_out(session, setup.shop.contact, source="keyword", raw_text="STOP")
    session.rollback()
    assert deliveries(session) == []


def test_a_sent_followup_is_followup_sent_with_the_scheduler_session_ref(client, session, worker):
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    created = client.post("/api/v1/webhook-endpoints", headers=tenant.auth,
                          json={"url": HOOK_URL, "events": ["followup.sent"]})
    assert created.status_code == 201
    post_event(client, tenant, event(occurred_at=past_due(tenant), session_id="sess_77"))
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(200)
        worker()  # sends the follow-up, then the webhook its sending recorded
    [row] = deliveries(session)
    assert (row.type, row.status) == ("followup.sent", "delivered") and receiver.call_count == 1
    data = row.payload["data"]
    followup = session.scalars(select(Followup)).one()
    assert (data["id"], data["status"], data["session_ref"], data["message_id"]) == (
        followup.id, "sent", "sess_77", followup.sent_message_id)
    assert data["contact"]["phone"] == "+14155550134"
