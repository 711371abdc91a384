"""Posting to the Twilio webhooks as Twilio does: form fields, optionally signed."""

from __future__ import annotations

import dataclasses
from typing import Any

from core.settings import get_settings
from webhooks.signatures import twilio_signature

PUBLIC_URL = "http://testserver.local"
TOKEN = "test-twilio-token"


def use_auth_token(monkeypatch: Any, token: str | None = TOKEN) -> None:
    """Run the webhook as if TWILIO_AUTH_TOKEN were set."""
    import webhooks.twilio

    settings = dataclasses.replace(get_settings(), twilio_auth_token=token)
    monkeypatch.setattr(webhooks.twilio, "get_settings", lambda: settings)


def inbound_fields(
    sid: str = "SM" + "a" * 32,
    from_: str = "+14155550134",
    to: str = "+14155550100",
    body: str = "Hi, is 3pm free?",
    **extra: str,
) -> dict[str, str]:
    fields = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    fields.update(extra)
    return fields


def post_signed(
    client: Any,
    path: str,
    fields: dict[str, str],
    token: str = TOKEN,
    signed_url: str | None = None,
    signature: str | None = None,
) -> Any:
    url = signed_url or PUBLIC_URL + path
    sig = signature if signature is not None else twilio_signature(token, url, fields.items())
    return client.post(path, data=fields, headers={"X-Twilio-Signature": sig})
