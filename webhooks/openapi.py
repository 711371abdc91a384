"""What `/schema` shows for the webhooks: their handlers read the raw body (signatures are over the
exact bytes), so the request bodies and signing headers are described here instead of inferred.
docs/webhooks.md explains the same contract with examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema

_S = OpenAPIType.STRING


def _text(description: str, **extra: Any) -> Schema:
    return Schema(type=_S, description=description, **extra)


SCHEDULER_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "type", "occurred_at", "session", "contact"],
    properties={
        "id": _text("the widget's event id; a repeat of an id changes nothing", max_length=128),
        "type": _text("what happened", enum=["session.abandoned", "session.completed"]),
        "occurred_at": _text("when, ISO 8601 with an offset", format="date-time"),
        "session": Schema(type=OpenAPIType.OBJECT, required=["id"], properties={
            "id": _text("the scheduler's own session id"), "url": _text("where the customer left off")}),
        "contact": Schema(type=OpenAPIType.OBJECT, required=["phone"], properties={
            "name": _text("the customer's name"), "phone": _text("any US format, e.g. (415) 555-0134"),
            "email": _text("email"), "zip": _text("ZIP code")}),
        "job": Schema(type=OpenAPIType.OBJECT, properties={
            "type": _text("job type, matched to the account's job types"), "notes": _text("what the customer wrote"),
            "id": _text("the scheduler's job id (session.completed)"),
            "starts_at": _text("booked start (session.completed)", format="date-time")}),
    },
)
SCHEDULER_EXAMPLE = {
    "id": "evt_123", "type": "session.abandoned", "occurred_at": "2026-11-22T15:04:05Z",
    "session": {"id": "sess_42", "url": "https://book.example.com/s/sess_42"},
    "contact": {"name": "Dana Reyes", "phone": "(415) 555-0134", "email": "dana@example.com", "zip": "94110"},
    "job": {"type": "Water heater repair", "notes": "no hot water"},
}


def _header(name: str, description: str) -> Parameter:
    return Parameter(name=name, param_in="header", required=True, schema=Schema(type=_S), description=description)


def _form(fields: dict[str, str], required: list[str]) -> RequestBody:
    schema = Schema(type=OpenAPIType.OBJECT, required=required,
                    properties={name: _text(description) for name, description in fields.items()})
    return RequestBody(required=True, content={"application/x-www-form-urlencoded": OpenAPIMediaType(schema=schema)})


@dataclass
class SchedulerEventOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, description="one scheduler event", content={
            "application/json": OpenAPIMediaType(schema=SCHEDULER_EVENT, example=SCHEDULER_EXAMPLE)})
        self.parameters = [
            _header("X-Textdesk-Account", "the account id"),
            _header("X-Textdesk-Timestamp", "unix seconds; more than 5 minutes off is refused"),
            _header("X-Textdesk-Signature", 'v1=<hex HMAC-SHA256 of "{timestamp}.{raw body}" with the account\'s '
                                            "webhook secret (`textdesk account secret ACCOUNT_ID`)>"),
        ]


_SIGNATURE = _header("X-Twilio-Signature", "base64 HMAC-SHA1 of TEXTDESK_PUBLIC_URL + path + the sorted form "
                                           "fields, keyed with TWILIO_AUTH_TOKEN (checked when it is set)")


@dataclass
class TwilioMessageOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _form({
            "MessageSid": "the provider's message id (SM…/MM…); a repeat is ignored", "AccountSid": "AC…",
            "MessagingServiceSid": "MG…, when the number is in a Messaging Service", "From": "the customer, E.164",
            "To": "one of the account's numbers, E.164", "Body": "the text", "NumMedia": "attachments",
            "MediaUrl0": "first attachment URL", "MediaContentType0": "its type",
            "OptOutType": "STOP, START or HELP when Twilio Advanced Opt-Out recognised one",
        }, ["MessageSid", "From", "To"])
        self.parameters = [_SIGNATURE]


@dataclass
class TwilioStatusOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _form({
            "MessageSid": "the outbound message's provider id",
            "MessageStatus": "queued, sending, sent, delivered, undelivered, failed",
            "ErrorCode": "carrier or Twilio error code, e.g. 30007",
        }, ["MessageSid", "MessageStatus"])
        self.parameters = [_SIGNATURE]
