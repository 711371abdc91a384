"""Tenant scoping across every route of the app: a rep of one business can never read or change
another's rows, whether by guessing ids or by listing. New routes with ids are caught here too."""

from __future__ import annotations

import re

import pytest

from bookings.models import Booking, BookingSession
from core.db import utcnow
from followups.models import Followup
from inbox.models import Contact, Message, Note, SavedReply, SendingNumber, Thread, User
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_tenant

# Path parameter -> which of the other account's rows it names.
ID_PARAMS = {"thread_id", "contact_id", "followup_id", "message_id", "booking_id", "user_id", "number_id",
             "endpoint_id", "webhook_id", "reply_id"}
ACTION_PARAMS = {"action": "escalate", "code": None, "index": 0}
BODIES = {"messages": {"body": "hello"}, "notes": {"body": "note"}, "assign": {"user_id": None},
          "reschedule": {"start": "2030-01-01T09:00:00-08:00"}, "password": {"password": "taken over!"}}


def _other_accounts_rows(session):  # type: ignore[no-untyped-def]
    other = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    contact = Contact(account_id=other.account.id, phone="+14155550177", name="Secret Customer")
    session.add(contact)
    session.flush()
    thread = Thread(account_id=other.account.id, contact_id=contact.id, last_message_at=utcnow())
    session.add(thread)
    session.flush()
    message = Message(account_id=other.account.id, thread_id=thread.id, contact_id=contact.id, direction="inbound",
                      sender="customer", body="my gate code is 4242", status="received",
                      attachments=[{"url": "https://api.twilio.com/m/ME1", "content_type": "image/jpeg"}])
    session.add(message)
    session.add(Note(account_id=other.account.id, thread_id=thread.id, body="private note"))
    booking_session = BookingSession(account_id=other.account.id, external_id="sess_other", contact_id=contact.id,
                                     thread_id=thread.id)
    session.add(booking_session)
    session.flush()
    followup = Followup(account_id=other.account.id, session_id=booking_session.id, contact_id=contact.id,
                        thread_id=thread.id, due_at=utcnow())
    session.add(followup)
    booking = Booking(account_id=other.account.id, contact_id=contact.id, thread_id=thread.id, source="agent",
                      job_type="Service visit", starts_at=utcnow(), ends_at=utcnow(), seat=0, status="booked")
    session.add(booking)
    endpoint = WebhookEndpoint(account_id=other.account.id, url="https://other.example/hooks", events=["booking.created"],
                               secret="whsec_c2VjcmV0")
    session.add(endpoint)
    session.flush()
    session.add(WebhookDelivery(account_id=other.account.id, endpoint_id=endpoint.id, webhook_id="msg_other",
                                type="booking.created", payload={"data": "Secret Customer"}, max_attempt=8))
    reply = SavedReply(account_id=other.account.id, name="gate", body="the gate code is 4242")
    session.add(reply)
    session.commit()
    return other, {"thread_id": thread.id, "contact_id": contact.id, "followup_id": followup.id,
                   "message_id": message.id, "booking_id": booking.id, "user_id": other.csr.id,
                   "number_id": other.number.id, "endpoint_id": endpoint.id, "webhook_id": "msg_other",
                   "reply_id": reply.id}


def _api_routes(app):  # type: ignore[no-untyped-def]
    for route in app.routes:
        if route.path.startswith(("/api/", "/inbox")):
            for method in sorted(set(route.methods) - {"OPTIONS", "HEAD"}):
                yield method, route.path


def test_every_route_with_an_id_answers_404_for_another_accounts_row(app, client, session) -> None:
    mine = make_tenant(session)
    _, ids = _other_accounts_rows(session)
    checked = 0
    for method, path in _api_routes(app):
        params = set(re.findall(r"{(\w+):\w+}", path))
        if not params:
            continue
        unknown = params - ID_PARAMS - set(ACTION_PARAMS)
        assert not unknown, f"{method} {path}: teach this test which row {unknown} names"
        url = path
        for name in params:
            value = ids.get(name, ACTION_PARAMS.get(name))
            url = re.sub(rf"{{{name}:\w+}}", str(value), url)
        body = BODIES.get(url.rsplit("/", 1)[-1], {"active": False} if method == "PATCH" else {})
        if "user_id" in body:
            body = {"user_id": mine.csr.id}
        response = client.request(method, url, headers={**mine.auth, "accept": "application/json"},
                                  json=body if method != "GET" else None)
        assert response.status_code == 404, (method, url, response.status_code, response.text[:200])
        assert "4242" not in response.text and "Secret Customer" not in response.text
        checked += 1
    assert checked >= 10

    session.expire_all()
    thread = session.get(Thread, ids["thread_id"])
    assert not thread.escalated and thread.assignee_id is None
    assert session.query(Message).filter_by(thread_id=thread.id).count() == 1
    assert session.query(Note).filter_by(thread_id=thread.id).count() == 1
    assert session.get(Followup, ids["followup_id"]).status == "scheduled"
    assert session.get(Booking, ids["booking_id"]).status == "booked"
    assert session.get(User, ids["user_id"]).active
    assert session.get(SendingNumber, ids["number_id"]) is not None
    assert session.get(SavedReply, ids["reply_id"]).body == "the gate code is 4242"


@pytest.mark.parametrize("path", ["/api/v1/threads", "/api/v1/followups", "/api/v1/bookings", "/api/v1/users",
                                  "/api/v1/events", "/api/v1/threads?q=Secret", "/inbox",
                                  "/api/v1/webhook-endpoints"])
def test_lists_never_show_another_accounts_rows(client, session, path: str) -> None:
    mine = make_tenant(session)
    _other_accounts_rows(session)
    response = client.get(path, headers=mine.auth)
    assert response.status_code == 200, response.text[:200]
    assert "Secret Customer" not in response.text
    assert "+14155550177" not in response.text
    assert "other.example" not in response.text
