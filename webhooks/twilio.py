"""Twilio's webhooks: inbound texts (`POST /webhooks/twilio/messages`) and delivery status
callbacks (`POST /webhooks/twilio/status`).

Each request is checked, parsed and handed to the inbox; nothing else happens here.
Signatures: `X-Twilio-Signature` is verified against TEXTDESK_PUBLIC_URL + path + query with
TWILIO_AUTH_TOKEN; a missing or wrong one is a 403 and nothing is stored. With the `dev`
provider and no token configured there is nothing to verify against, so unsigned requests are
accepted (the phone simulator and local testing); as soon as a token is set, every request must
be signed, whichever provider is configured.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, post
from litestar.exceptions import HTTPException
from litestar.response import Response
from sqlalchemy.orm import Session

from core.settings import get_settings
from inbox.accounts import ValidationError
from inbox.inbound import MAX_BODY, UnknownRecipient, receive_sms
from inbox.status import PROVIDER_STATUS, handle_callback
from webhooks.openapi import TwilioMessageOperation, TwilioStatusOperation
from webhooks.signatures import valid_twilio_signature

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_MEDIA = 10
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


@post("/webhooks/twilio/messages", sync_to_thread=True, status_code=200, operation_class=TwilioMessageOperation)
def inbound_message(request: Request[Any, Any, Any], db: Session, body: bytes) -> Response[str]:
    """An inbound text: verified, parsed, stored once, compliance first; answers empty TwiML."""
    fields = _fields(request, body)
    verify_signature(request, fields)
    form = _form(fields)
    sid = _sid(form, "MessageSid", required=True) or ""
    to, from_ = _one(form, "To", required=True) or "", _one(form, "From", required=True) or ""
    text = form.get("Body", "")
    if len(text) > MAX_BODY:
        raise Rejected(status_code=400, detail=f"Body: is {len(text)} characters; at most {MAX_BODY}")
    media = _media(form)
    try:
        result = receive_sms(
            db,
            to=to,
            from_=from_,
            body=text,
            provider_sid=sid,
            media=media,
            messaging_service_sid=_sid(form, "MessagingServiceSid"),
            opt_out_type=_one(form, "OptOutType"),
        )
    except ValidationError as exc:
        db.rollback()
        raise Rejected(status_code=400, detail=str(exc)) from None
    except UnknownRecipient as exc:
        db.rollback()
        raise Rejected(status_code=404, detail=str(exc)) from None
    db.commit()
    if result.duplicate:
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
    handle_callback(db, sid, status, error_code)
    db.commit()
    return _twiml()


ROUTES: list[Any] = [inbound_message, status_callback]
