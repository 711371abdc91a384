"""Signed but malformed webhook requests are a 4xx naming the header or field; nothing is stored."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import utcnow
from followups.models import Followup, SchedulerEvent
from inbox.models import Contact, Message
from tests.factories import make_tenant
from tests.followups.helpers import event, post_event
from tests.webhooks.twilio_helpers import inbound_fields, post_signed, use_auth_token
from webhooks.scheduler import sign


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _nothing_stored(session) -> bool:  # type: ignore[no-untyped-def]
    return _count(session, SchedulerEvent) == 0 and _count(session, Contact) == 0 and _count(session, Followup) == 0


def test_an_account_id_wider_than_its_column_is_unknown(client, session) -> None:
    tenant = make_tenant(session)
    response = post_event(client, tenant, event(), account_id=2147483648)
    assert response.status_code == 403 and response.json()["detail"].startswith("X-Textdesk-Account:")
    response = post_event(client, tenant, event(), account_id="9" * 40)
    assert response.status_code == 400 and response.json()["detail"].startswith("X-Textdesk-Account:")
    assert _nothing_stored(session)


@pytest.mark.parametrize("timestamp", ["9" * 400, "1" * 5000, "١٧٠٠٠٠٠٠٠٠", "-5", "1e9"])
def test_a_malformed_timestamp_is_400_naming_the_header_before_the_signature(client, session, timestamp) -> None:
    tenant = make_tenant(session)
    body = json.dumps(event()).encode()
    response = client.post("/webhooks/scheduler", content=body, headers={
        "X-Textdesk-Account": str(tenant.account.id), "X-Textdesk-Timestamp": timestamp.encode(),
        "X-Textdesk-Signature": "v1=" + "0" * 64})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("X-Textdesk-Timestamp:")
    assert _nothing_stored(session)


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b.update(id="evt\u00001"), "id"),
    (lambda b: b.update(id="evt\ud8001"), "id"),
    (lambda b: b["contact"].update(name="Dana\u0000"), "contact.name"),
    (lambda b: b["contact"].update(name="Dana \udc00"), "contact.name"),
    (lambda b: b["job"].update(notes="\u0000"), "job.notes"),
    (lambda b: b.update(extra={"deep": "\u0000"}), "extra.deep"),
    (lambda b: b.update(occurred_at="9999-12-31T23:59:59Z"), "occurred_at"),
    (lambda b: b.update(occurred_at="0001-01-01T00:00:00+01:00"), "occurred_at"),
    (lambda b: b.update(occurred_at="0001-01-01T00:00:00Z"), "occurred_at"),
    (lambda b: b.update(occurred_at=(utcnow() + timedelta(days=2)).isoformat()), "occurred_at"),
    (lambda b: b.update(occurred_at=(utcnow() - timedelta(days=31)).isoformat()), "occurred_at"),
    (lambda b: b["job"].update(starts_at="9999-12-31T23:59:59-12:00"), "job.starts_at"),
    (lambda b: b.update(nested=[[[[[[[[[["too deep"]]]]]]]]]]), "nested"),
])
def test_a_signed_event_with_unstorable_text_or_an_insane_date_is_422_naming_the_field(
        client, session, mutate, field) -> None:
    tenant = make_tenant(session)
    body = event()
    mutate(body)
    response = post_event(client, tenant, json.dumps(body).encode())
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field)
    assert _nothing_stored(session)


@pytest.mark.parametrize("raw", [b'{"id": 1e400}', b'{"id": NaN}', b"[" * 100000, b'{"id": "\xff"}'])
def test_a_signed_body_that_is_not_plain_json_is_422(client, session, raw) -> None:
    tenant = make_tenant(session)
    response = post_event(client, tenant, raw)
    assert response.status_code == 422 and response.json()["detail"].startswith("body:")


def test_a_recent_event_is_still_accepted(client, session) -> None:
    tenant = make_tenant(session)
    body = event(occurred_at=utcnow() - timedelta(days=29))
    assert post_event(client, tenant, body).status_code == 200
    ts = int(time.time())
    assert sign(tenant.account.webhook_secret, ts, b"x").startswith("v1=")


def test_a_nul_in_a_signed_inbound_text_is_dropped_and_the_text_kept(client, session, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    fields = inbound_fields(body="hi\u0000there", OptOutType="\u0000", NumMedia="1",
                            MediaUrl0="https://api.twilio.com/m/ME1\u0000", MediaContentType0="image/jpeg\u0000")
    response = post_signed(client, "/webhooks/twilio/messages", fields)
    assert response.status_code == 200
    session.expire_all()
    message = session.scalar(select(Message))
    assert message is not None and message.body == "hithere"
    assert message.attachments == [{"url": "https://api.twilio.com/m/ME1", "content_type": "image/jpeg"}]


def test_a_nul_in_a_signed_status_callback_is_no_server_error(client, session, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    response = post_signed(client, "/webhooks/twilio/status", {"MessageSid": "SM\u00001", "MessageStatus": "sent\u0000"})
    assert response.status_code < 500
