"""Twilio's webhooks: inbound texts (`POST /webhooks/twilio/messages`) and delivery status
callbacks (`POST /webhooks/twilio/status`).

Each request is checked, parsed and handed to the inbox; nothing else happens here. When the
database does not answer, a checked and parsed webhook is kept in the spool (`webhooks/spool.py`)
and answered 200 as usual, except a compliance text (STOP, START, HELP…), answered 503 for the
provider to retry (see `_keep`). Texts that arrive together are stored in one
transaction (`webhooks/inbound_writer.py`).
Signatures: `X-Twilio-Signature` is verified against TEXTDESK_PUBLIC_URL + path + query with
TWILIO_AUTH_TOKEN; a missing or wrong one is a 403 and nothing is stored. With the `dev`
provider and no token configured there is nothing to verify against, so unsigned requests are
accepted (the phone simulator and local testing); as soon as a token is set, every request must
be signed, whichever provider is configured.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from anyio import to_thread
from litestar import Request, post
from litestar.exceptions import HTTPException
from litestar.response import Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.db import database_unreachable
from core.settings import get_settings
from inbox.accounts import ValidationError
from inbox.compliance import classify
from inbox.inbound import MAX_BODY, InboundResult, UnknownRecipient, receive_sms
from inbox.status import PROVIDER_STATUS, handle_callback
from webhooks import inbound_writer, spool
from webhooks.inbound_writer import DatabaseAway
from webhooks.openapi import TwilioMessageOperation, TwilioStatusOperation
from webhooks.signatures import valid_twilio_signature

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_MEDIA = 10
RETRY_AFTER_SECONDS = 5
_SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Rejected(HTTPException):
    """A 4xx whose `detail` names the header or field at fault."""


def _twiml() -> Response[str]:
    return Response(EMPTY_TWIML, media_type="text/xml", status_code=200)


def _fields(request: Request[Any, Any, Any], body: bytes) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in content_type:
        raise Rejected(
            status_code=415, detail="Content-Type: expected application/x-www-form-urlencoded form fields"
        )
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise Rejected(status_code=400, detail="body: form fields are not UTF-8") from None


def _form(fields: list[tuple[str, str]]) -> dict[str, str]:
    # After the signature check (which covers the fields as sent): no database stores NUL in text and
    # no phone sends one, so it is dropped rather than refusing the text, which Twilio would not retry.
    return {name: value.replace("\x00", "") for name, value in fields}


def verify_signature(request: Request[Any, Any, Any], fields: list[tuple[str, str]]) -> None:
    """403 unless the request carries Twilio's signature for our public URL (see module docstring)."""
    settings = get_settings()
    token = settings.twilio_auth_token
    if token is None and settings.sms_provider == "dev":
        return
    url = settings.public_url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    signature = request.headers.get("x-twilio-signature")
    if not valid_twilio_signature(token or "", url, fields, signature):
        log.warning(
            "rejected %s: %s X-Twilio-Signature", request.url.path, "missing" if not signature else "wrong"
        )
        raise Rejected(status_code=403, detail="X-Twilio-Signature: missing or does not match the request")


def _one(form: dict[str, str], name: str, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise Rejected(status_code=400, detail=f"{name}: is required")
        return None
    return value


def _sid(form: dict[str, str], name: str, required: bool = False) -> str | None:
    value = _one(form, name, required)
    if value is not None and not _SID.match(value):
        raise Rejected(status_code=400, detail=f"{name}: {value[:40]!r} is not a valid id")
    return value


def _media(form: dict[str, str]) -> list[dict[str, str]]:
    raw = form.get("NumMedia") or "0"
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        raise Rejected(status_code=400, detail=f"NumMedia: must be a whole number from 0 to {MAX_MEDIA}")
    media = []
    for i in range(int(raw)):
        url = _one(form, f"MediaUrl{i}", required=True) or ""
        if not url.startswith(("https://", "http://")):
            raise Rejected(status_code=400, detail=f"MediaUrl{i}: must be an http(s) URL")
        media.append(
            {"url": url, "content_type": form.get(f"MediaContentType{i}") or "application/octet-stream"}
        )
    return media


def store_text(db: Session, fields: dict[str, Any], received_at: datetime | None = None) -> InboundResult:
    """Store a parsed inbound text and commit: the one path for the webhook and the spool's replay."""
    result = receive_sms(db, **fields, now=received_at)
    db.commit()
    return result


def store_status(db: Session, fields: dict[str, Any], received_at: datetime | None = None) -> None:
    """Apply a parsed status callback and commit (the webhook and the spool's replay)."""
    handle_callback(db, **fields, now=received_at)
    db.commit()


def _replay_text(db: Session, fields: dict[str, Any], received_at: datetime) -> None:
    try:
        result = store_text(db, fields, received_at)
    except (ValidationError, UnknownRecipient) as exc:  # what the webhook would have answered 4xx
        db.rollback()
        log.warning("spooled text %s not stored: %s", fields.get("provider_sid"), exc)
        return
    if result.duplicate:
        log.info("spooled text %s was already stored", fields.get("provider_sid"))


SPOOL_HANDLERS: dict[str, spool.Handler] = {"text": _replay_text, "status": store_status}


def _rollback(db: Session) -> None:
    try:
        db.rollback()
    except SQLAlchemyError:  # the connection is gone with the database; closing the session drops it
        pass


def _unavailable(detail: str) -> HTTPException:
    return HTTPException(status_code=503, detail=detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _keep(kind: str, fields: dict[str, Any]) -> None:
    """The database did not answer: keep the webhook in the spool, to be answered 200 all the same;
    a compliance text is the exception, answered 503 for the provider to retry (see below)."""
    if kind == "text" and classify(fields["body"], fields["opt_out_type"]) is not None:
        # Strict STOP: once a STOP's webhook has answered, no text to that number may start, so a
        # 200 must follow the committed opt-out, never a spooled one (a reply queued before it
        # could still go out while it waits). 503 instead: with `#rc=5&rp=5xx` on the webhook
        # URL Twilio retries it, and its Advanced Opt-Out has already recorded the STOP and
        # blocks our sends to that number at the provider meanwhile.
        log.warning("database unreachable: %s answered 503 for the provider to retry", fields["provider_sid"])
        raise _unavailable("the database is unavailable; try again shortly")
    log.warning("database unreachable: %s %s kept in the spool", kind, fields["provider_sid"])
    try:
        spool.append(kind, fields)
    except OSError:
        log.exception("spool unavailable too: %s answered 503", fields["provider_sid"])
        raise _unavailable("the database and the spool are unavailable; try again shortly") from None


@post("/webhooks/twilio/messages", status_code=200, operation_class=TwilioMessageOperation)
async def inbound_message(request: Request[Any, Any, Any], body: bytes) -> Response[str]:
    """An inbound text: verified, parsed, stored once, compliance first; answers empty TwiML."""
    fields = _fields(request, body)
    verify_signature(request, fields)
    form = _form(fields)
    sid = _sid(form, "MessageSid", required=True) or ""
    to, from_ = _one(form, "To", required=True) or "", _one(form, "From", required=True) or ""
    text = form.get("Body", "")
    if len(text) > MAX_BODY:
        raise Rejected(status_code=400, detail=f"Body: is {len(text)} characters; at most {MAX_BODY}")
    parsed = {"to": to, "from_": from_, "body": text, "provider_sid": sid, "media": _media(form),
              "messaging_service_sid": _sid(form, "MessagingServiceSid"), "opt_out_type": _one(form, "OptOutType")}
    outcome = await inbound_writer.store(parsed)  # with the other texts arriving meanwhile
    if isinstance(outcome, DatabaseAway):
        await to_thread.run_sync(_keep, "text", parsed)  # the spool fsyncs: off the event loop
    elif isinstance(outcome, ValidationError):
        raise Rejected(status_code=400, detail=str(outcome))
    elif isinstance(outcome, UnknownRecipient):
        raise Rejected(status_code=404, detail=str(outcome))
    elif isinstance(outcome, Exception):
        raise outcome
    elif outcome.duplicate:
        log.info("repeat delivery of %s ignored", sid)
    return _twiml()


@post("/webhooks/twilio/status", sync_to_thread=True, status_code=200, operation_class=TwilioStatusOperation)
def status_callback(request: Request[Any, Any, Any], db: Session, body: bytes) -> Response[str]:
    """A delivery status callback: moves the message's status forward only."""
    fields = _fields(request, body)
    verify_signature(request, fields)
    form = _form(fields)
    sid = _sid(form, "MessageSid", required=True) or ""
    status = (_one(form, "MessageStatus", required=True) or "").lower()
    if status not in PROVIDER_STATUS and status not in ("receiving", "received"):
        raise Rejected(status_code=400, detail=f"MessageStatus: unknown status {status[:30]!r}")
    error_code = _one(form, "ErrorCode")
    if error_code is not None and not error_code.isdigit():
        raise Rejected(status_code=400, detail="ErrorCode: must be a number")
    parsed = {"provider_sid": sid, "provider_status": status, "error_code": error_code}
    try:
        store_status(db, parsed)
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        _rollback(db)
        _keep("status", parsed)
    return _twiml()


ROUTES: list[Any] = [inbound_message, status_callback]
