from __future__ import annotations

import dataclasses

import httpx
import respx
from sqlalchemy import select

import inbox.providers
from core.settings import get_settings
from inbox.delivery import deliver_message
from inbox.models import Contact, Event, Message
from inbox.sending import send_text
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread
from tests.webhooks.twilio_helpers import post_signed, use_auth_token

PATH = "/webhooks/twilio/status"
SMS_SID = "SM" + "c" * 32


def sent_message(session, sid: str = SMS_SID, status: str = "sending") -> Message:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone=daytime_zone())
    message = send_text(session, thread, "Your tech arrives at 3pm", sender="csr")
    message.provider_sid, message.status = sid, status
    session.commit()
    return message


def callback(client, status: str, sid: str = SMS_SID, **extra: str):
    fields = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "From": "+14155550100",
        "To": "+14155550134",
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return post_signed(client, PATH, fields)


def current(session, message: Message) -> Message:
    session.expire_all()
    return session.get(Message, message.id)


def test_status_moves_forward_through_sent_to_delivered(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    message = sent_message(session)
    assert callback(client, "sent").status_code == 200
    assert current(session, message).status == "sent"
    response = callback(client, "delivered")
    assert response.status_code == 200 and response.text.endswith("<Response/>")
    message = current(session, message)
    assert message.status == "delivered" and message.sent_at and message.delivered_at


def test_late_sent_never_overwrites_delivered(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    message = sent_message(session)
    callback(client, "delivered")
    callback(client, "sent")
    callback(client, "queued")
    assert current(session, message).status == "delivered"
    statuses = [
        e.payload["status"] for e in session.scalars(select(Event).where(Event.type == "message.status"))
    ]
    assert statuses == ["delivered"]


def test_failed_is_final_with_a_plain_language_reason(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    message = sent_message(session)
    callback(client, "undelivered", ErrorCode="30007")
    callback(client, "delivered")
    message = current(session, message)
    assert (message.status, message.error_code) == ("undelivered", "30007")
    assert "filtered" in message.error_message and "spam" in message.error_message


def test_unreachable_handset_code_is_explained(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    message = sent_message(session)
    callback(client, "undelivered", ErrorCode="30003")
    assert "switched off" in current(session, message).error_message


def test_failed_21610_callback_opts_the_contact_out(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    message = sent_message(session)
    callback(client, "failed", ErrorCode="21610")
    assert session.get(Contact, current(session, message).contact_id).opted_out is True


def test_callback_before_the_send_is_recorded_is_applied_when_it_is(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    sid = "SM" + "d" * 32
    assert callback(client, "delivered", sid=sid).status_code == 200  # Twilio was faster than our commit
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone=daytime_zone())
    message = send_text(session, thread, "On our way", sender="csr")
    session.commit()
    settings = dataclasses.replace(
        get_settings(), sms_provider="twilio", twilio_account_sid="AC" + "1" * 32, twilio_auth_token="tok"
    )
    monkeypatch.setattr(inbox.providers, "get_settings", lambda: settings)
    with respx.mock:
        respx.post(url__regex=r".*/Messages\.json").mock(
            return_value=httpx.Response(
                201, json={"sid": sid, "status": "queued", "to": "+14155550134", "body": "On our way"}
            )
        )
        deliver_message(message.id)
    assert current(session, message).status == "delivered"


def test_bad_signature_on_status_callback_is_403_and_changes_nothing(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    message = sent_message(session)
    fields = {"MessageSid": SMS_SID, "MessageStatus": "delivered"}
    response = post_signed(client, PATH, fields, signature="AAAA")
    assert response.status_code == 403
    assert current(session, message).status == "sending"


def test_status_callback_fields_are_validated_by_name(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch)
    sent_message(session)
    assert callback(client, "exploded").json()["detail"].startswith("MessageStatus:")
    assert callback(client, "failed", ErrorCode="abc").json()["detail"].startswith("ErrorCode:")
    response = post_signed(client, PATH, {"MessageStatus": "sent"})
    assert response.status_code == 400 and response.json()["detail"].startswith("MessageSid:")
