"""Hypothesis over both webhooks: correctly signed requests carrying arbitrary text never get a 5xx.

Bounded for CI: a fixed number of derandomized examples per webhook.
"""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_tenant
from tests.webhooks.twilio_helpers import post_signed, use_auth_token
from webhooks.scheduler import sign

EXAMPLES = 40
BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))

# Anything a form can carry (UTF-8 has no lone surrogates), NUL and control characters included,
# with the known troublemakers drawn often.
form_text = st.sampled_from(["\x00", "STOP\x00", "hi\x00there", "\u202e", "\U0001f600" * 30]) | st.text(
    st.characters(codec="utf-8"), max_size=60)
# JSON strings may also carry lone surrogates as \ud800 escapes.
json_text = st.sampled_from(["\x00", "Dana\x00", "\ud800", "x\udfff"]) | st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60)
phones = st.sampled_from(["+14155550134", "(415) 555-0134", "+442071838750", "555", "+1", ""]) | form_text
times = st.sampled_from(["2026-11-22T15:04:05Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
                         "0001-01-01", "9999-12-31T23:59:59-12:00", ""]) | json_text | st.datetimes().map(
                             lambda d: d.isoformat() + "Z")
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | json_text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner, max_size=3),
                           max_leaves=8)


scheduler_events = st.fixed_dictionaries({
    "id": json_text | st.integers(), "type": st.sampled_from(["session.abandoned", "session.completed"]) | json_text,
    "occurred_at": times | st.just(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
    "session": st.fixed_dictionaries({"id": json_text, "url": st.just("https://book.example.com/s/1") | json_text}),
    "contact": st.fixed_dictionaries({"name": json_text | st.none(), "phone": phones, "email": json_text,
                                      "zip": json_text}),
    "job": st.fixed_dictionaries({"type": json_text, "notes": json_text, "starts_at": times}) | json_values,
}, optional={"extra": json_values})


def test_signed_scheduler_events_with_arbitrary_content_never_get_a_server_error(client, session) -> None:
    tenant = make_tenant(session)

    @BOUNDED
    @given(body=scheduler_events)
    def post(body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        ts = int(time.time())
        response = client.post("/webhooks/scheduler", content=raw, headers={
            "X-Textdesk-Account": str(tenant.account.id), "X-Textdesk-Timestamp": str(ts),
            "X-Textdesk-Signature": sign(tenant.account.webhook_secret, ts, raw),
            "Content-Type": "application/json"})
        assert response.status_code < 500, (raw[:300], response.status_code)

    post()


def test_signed_scheduler_bodies_of_arbitrary_bytes_never_get_a_server_error(client, session) -> None:
    tenant = make_tenant(session)

    @BOUNDED
    @given(raw=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
    def post(raw: bytes) -> None:
        ts = int(time.time())
        response = client.post("/webhooks/scheduler", content=raw, headers={
            "X-Textdesk-Account": str(tenant.account.id), "X-Textdesk-Timestamp": str(ts),
            "X-Textdesk-Signature": sign(tenant.account.webhook_secret, ts, raw)})
        assert response.status_code < 500, (raw[:300], response.status_code)

    post()


inbound_forms = st.fixed_dictionaries({
    "MessageSid": st.text("SMabcdef0123456789", min_size=2, max_size=34) | form_text,
    "From": st.just("+14155550134") | phones, "To": st.just("+14155550100") | phones, "Body": form_text,
    "NumMedia": st.sampled_from(["0", "1", "2", "11", "-1", "x", ""]),
}, optional={
    "MediaUrl0": st.just("https://api.twilio.com/media/ME1") | form_text,
    "MediaContentType0": st.just("image/jpeg") | form_text,
    "MessagingServiceSid": form_text, "OptOutType": st.sampled_from(["STOP", "START", "HELP"]) | form_text,
    "AccountSid": form_text,
})


def test_signed_inbound_texts_with_arbitrary_fields_never_get_a_server_error(client, session, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)

    @BOUNDED
    @given(fields=inbound_forms)
    def post(fields: dict[str, str]) -> None:
        response = post_signed(client, "/webhooks/twilio/messages", fields)
        assert response.status_code < 500, (fields, response.status_code)

    post()


status_forms = st.fixed_dictionaries({
    "MessageSid": st.text("SMabcdef0123456789", min_size=2, max_size=34) | form_text,
    "MessageStatus": st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "received"]) | form_text,
}, optional={"ErrorCode": st.sampled_from(["30003", "0", "99999999999999999999"]) | form_text})


def test_signed_status_callbacks_with_arbitrary_fields_never_get_a_server_error(client, session, monkeypatch) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)

    @BOUNDED
    @given(fields=status_forms)
    def post(fields: dict[str, str]) -> None:
        response = post_signed(client, "/webhooks/twilio/status", fields)
        assert response.status_code < 500, (fields, response.status_code)

    post()
