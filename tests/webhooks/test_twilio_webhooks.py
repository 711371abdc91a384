from __future__ import annotations

from sqlalchemy import func, select

from inbox.accounts import add_number
from inbox.models import Contact, Message, Thread
from tests.factories import make_tenant
from tests.webhooks.twilio_helpers import PUBLIC_URL, inbound_fields, post_signed, use_auth_token

PATH = "/webhooks/twilio/messages"


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_signed_inbound_text_is_stored_and_answered_with_empty_twiml(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    response = post_signed(client, PATH, inbound_fields())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response/>")
    message = session.scalar(select(Message))
    assert (message.direction, message.body, message.from_number, message.status) == (
        "inbound",
        "Hi, is 3pm free?",
        "+14155550134",
        "received",
    )


def test_wrong_signature_is_403_and_stores_nothing(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    response = post_signed(client, PATH, inbound_fields(), token="not-the-token")
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["detail"]
    assert _count(session, Message) == 0
    assert _count(session, Contact) == 0


def test_missing_signature_is_403_and_stores_nothing(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    response = client.post(PATH, data=inbound_fields())
    assert response.status_code == 403
    assert _count(session, Message) == 0


def test_signature_over_tampered_field_is_rejected(session, client, monkeypatch) -> None:
    from webhooks.signatures import twilio_signature

    make_tenant(session)
    use_auth_token(monkeypatch)
    fields = inbound_fields()
    signature = twilio_signature("test-twilio-token", PUBLIC_URL + PATH, fields.items())
    response = client.post(PATH, data={**fields, "Body": "STOP"}, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert _count(session, Message) == 0


def test_signature_computed_with_default_port_is_accepted(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    response = post_signed(client, PATH, inbound_fields(), signed_url="http://testserver.local:80" + PATH)
    assert response.status_code == 200
    assert _count(session, Message) == 1


def test_dev_provider_without_token_accepts_unsigned_requests(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch, None)
    response = client.post(PATH, data=inbound_fields())
    assert response.status_code == 200
    assert _count(session, Message) == 1


def test_account_is_found_by_to_number(session, client, monkeypatch) -> None:
    first = make_tenant(session)
    second = make_tenant(
        session, name="Cool Air HVAC", phone="+12125550100", timezone="America/New_York", slug="coolair"
    )
    use_auth_token(monkeypatch)
    assert post_signed(client, PATH, inbound_fields(to="+12125550100")).status_code == 200
    message = session.scalar(select(Message))
    assert message.account_id == second.account.id != first.account.id


def test_account_is_found_by_messaging_service_when_to_is_a_pool_number(session, client, monkeypatch) -> None:
    make_tenant(session)
    other = make_tenant(
        session, name="Bright Electric", phone="+13125550100", timezone="America/Chicago", slug="bright"
    )
    add_number(
        session, other.account.id, "+13125550101", transactional=True, messaging_service_sid="MG" + "1" * 32
    )
    session.commit()
    use_auth_token(monkeypatch)
    # +13125550199 is in the service's pool at the provider but not registered in textdesk.
    fields = inbound_fields(to="+13125550199", MessagingServiceSid="MG" + "1" * 32)
    assert post_signed(client, PATH, fields).status_code == 200
    assert session.scalar(select(Message)).account_id == other.account.id


def test_unknown_number_is_a_clear_404_and_stores_nothing(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    response = post_signed(client, PATH, inbound_fields(to="+16175550100"))
    assert response.status_code == 404
    assert "+16175550100" in response.json()["detail"]
    assert _count(session, Message) == 0


def test_repeat_delivery_of_a_message_sid_changes_nothing(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    fields = inbound_fields(body="STOP")
    assert post_signed(client, PATH, fields).status_code == 200
    assert post_signed(client, PATH, fields).status_code == 200
    assert _count(session, Message) == 2  # the STOP and one confirmation
    thread = session.scalar(select(Thread))
    assert thread.unread_count == 1


def test_mms_media_and_emoji_body_are_stored_intact(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    body = "Here's the leak 💧🔧 — señal débil"
    fields = inbound_fields(
        body=body,
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/media/ME2",
        MediaContentType1="video/mp4",
    )
    assert post_signed(client, PATH, fields).status_code == 200
    message = session.scalar(select(Message))
    assert message.body == body
    assert message.attachments == [
        {"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"},
        {"url": "https://api.twilio.com/media/ME2", "content_type": "video/mp4"},
    ]


def test_1600_character_body_is_accepted_and_longer_is_400(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    assert post_signed(client, PATH, inbound_fields(body="a" * 1600)).status_code == 200
    response = post_signed(client, PATH, inbound_fields(sid="SM" + "b" * 32, body="a" * 1601))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Body:")


def test_phone_numbers_are_normalised_to_e164(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    assert (
        post_signed(client, PATH, inbound_fields(from_="+1 (415) 555-0134", to="4155550100")).status_code
        == 200
    )
    assert session.scalar(select(Contact)).phone == "+14155550134"


def test_malformed_fields_get_a_4xx_naming_the_field(session, client, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    cases = [
        (inbound_fields(from_=""), "From:"),
        (inbound_fields(from_="not a phone"), "From:"),
        (inbound_fields(to="12"), "To:"),
        (inbound_fields(sid=""), "MessageSid:"),
        (inbound_fields(sid="SM/../x"), "MessageSid:"),
        (inbound_fields(NumMedia="x"), "NumMedia:"),
        (inbound_fields(NumMedia="1"), "MediaUrl0:"),
        (inbound_fields(NumMedia="1", MediaUrl0="javascript:alert(1)"), "MediaUrl0:"),
    ]
    for fields, name in cases:
        response = post_signed(client, PATH, fields)
        assert response.status_code == 400, (fields, response.text)
        assert response.json()["detail"].startswith(name), response.json()
    assert _count(session, Message) == 0
    assert _count(session, Contact) == 0


def test_json_body_is_rejected_with_415(session, client, monkeypatch) -> None:
    use_auth_token(monkeypatch, None)
    response = client.post(PATH, json=inbound_fields())
    assert response.status_code == 415


def test_stop_over_the_webhook_sends_one_confirmation_through_twilio(
    session, client, worker, monkeypatch
) -> None:
    import dataclasses

    import httpx
    import respx

    import inbox.providers
    from core.settings import get_settings

    make_tenant(session)
    use_auth_token(monkeypatch)
    settings = dataclasses.replace(
        get_settings(),
        sms_provider="twilio",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="test-twilio-token",
    )
    monkeypatch.setattr(inbox.providers, "get_settings", lambda: settings)
    with respx.mock:
        route = respx.post(
            f"https://api.twilio.com/2010-04-01/Accounts/{'AC' + '1' * 32}/Messages.json"
        ).mock(return_value=httpx.Response(201, json={"sid": "SM" + "f" * 32, "status": "queued"}))
        fields = inbound_fields(body="Stop")
        assert post_signed(client, PATH, fields).status_code == 200
        assert post_signed(client, PATH, fields).status_code == 200  # Twilio retried the webhook
        worker()
    assert route.call_count == 1
    assert "unsubscribed" in dict(httpx.QueryParams(route.calls.last.request.content.decode()))["Body"]
    session.expire_all()
    assert session.scalar(select(Contact)).opted_out is True
