"""`POST /webhooks/scheduler`: booking-session events from the business's scheduler widget.

Verifies the signature (`v1=` HMAC-SHA256 over "{timestamp}.{raw body}" with the account's
webhook secret, five-minute window), parses and validates, records the event id once, and hands
the work to followups.sessions. A rejected request stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from litestar import Request, post
from litestar.exceptions import HTTPException
from litestar.response import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followups.models import SchedulerEvent
from followups.sessions import SessionEvent, session_abandoned, session_completed
from inbox.models import Account
from inbox.phones import InvalidPhone, to_e164
from webhooks.openapi import SchedulerEventOperation

TOLERANCE_SECONDS = 300
EVENT_TYPES = ("session.abandoned", "session.completed")


class Rejected(HTTPException):
    """A 4xx with a `detail` that says which header or field is wrong."""


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The `X-Textdesk-Signature` value a widget sends for `body` at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(session: Session, headers: Any, body: bytes, now: float | None = None) -> Account:
    """The signing account, or Rejected (400 for a missing header, 403 for anything untrusted)."""
    values = {}
    for name in ("x-textdesk-account", "x-textdesk-timestamp", "x-textdesk-signature"):
        values[name] = (headers.get(name) or "").strip()
        if not values[name]:
            raise Rejected(status_code=400, detail=f"header {name.title()} is missing")
    account_id, timestamp, signature = values.values()
    account = session.get(Account, int(account_id)) if account_id.isdigit() else None
    if account is None:
        raise Rejected(status_code=403, detail="X-Textdesk-Account: unknown account")
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        raise Rejected(status_code=403, detail="X-Textdesk-Timestamp: more than 5 minutes from now")
    if not hmac.compare_digest(sign(account.webhook_secret, timestamp, body).encode(), signature.encode()):
        raise Rejected(status_code=403, detail="X-Textdesk-Signature: does not match the body")
    return account


def _invalid(field: str, why: str) -> Rejected:
    return Rejected(status_code=422, detail=f"{field}: {why}")


def _text(obj: dict[str, Any], key: str, field: str, required: bool = False, limit: int = 200) -> str | None:
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(field, "is required")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise _invalid(field, "must be a string")
    value = str(value).strip()
    if len(value) > limit:
        raise _invalid(field, f"is longer than {limit} characters")
    return value


def _time(obj: dict[str, Any], key: str, field: str, required: bool) -> datetime | None:
    raw = _text(obj, key, field, required)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(field, f"{raw!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise _invalid(field, "needs a time zone (for example 2026-11-22T15:04:05Z)")
    return value.astimezone(UTC)


def _object(data: dict[str, Any], key: str, required: bool) -> dict[str, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _invalid(key, "is required and must be an object" if required else "must be an object")
    return value


def parse(body: bytes) -> SessionEvent:
    """Validate an event body; Rejected(422) names the first bad field."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("body", "is not JSON") from None
    if not isinstance(data, dict):
        raise _invalid("body", "must be a JSON object")
    event_id = _text(data, "id", "id", required=True, limit=128)
    event_type = _text(data, "type", "type", required=True)
    if event_type not in EVENT_TYPES:
        raise _invalid("type", f"unknown type {event_type!r} (expected {' or '.join(EVENT_TYPES)})")
    occurred_at = _time(data, "occurred_at", "occurred_at", required=True)
    sess, contact, job = _object(data, "session", True), _object(data, "contact", True), _object(data, "job", False)
    session_id = _text(sess, "id", "session.id", required=True, limit=128)
    url = _text(sess, "url", "session.url", limit=2000)
    if url and not url.startswith(("https://", "http://")):
        raise _invalid("session.url", "must start with https:// or http://")
    try:
        phone = to_e164(_text(contact, "phone", "contact.phone", required=True) or "")
    except InvalidPhone as exc:
        raise _invalid("contact.phone", str(exc)) from None
    assert event_id and event_type and occurred_at and session_id
    return SessionEvent(
        external_id=event_id, type=event_type, occurred_at=occurred_at, session_id=session_id, session_url=url,
        phone=phone, name=_text(contact, "name", "contact.name"), email=_text(contact, "email", "contact.email", limit=320),
        zip=_text(contact, "zip", "contact.zip", limit=20), job_type=_text(job, "type", "job.type"),
        job_notes=_text(job, "notes", "job.notes", limit=2000), job_id=_text(job, "id", "job.id", limit=128),
        starts_at=_time(job, "starts_at", "job.starts_at", required=False),
    )


def _record_once(db: Session, account: Account, event: SessionEvent, body: bytes) -> bool:
    """Store the event id; False if this account already sent it (a retry changes nothing)."""
    seen = db.scalar(select(SchedulerEvent.id).where(SchedulerEvent.account_id == account.id,
                                                     SchedulerEvent.external_id == event.external_id))
    if seen is not None:
        return False
    try:
        with db.begin_nested():  # two deliveries of one event at once: the unique key picks one
            db.add(SchedulerEvent(account_id=account.id, external_id=event.external_id, type=event.type,
                                  payload=json.loads(body)))
    except IntegrityError:
        return False
    return True


@post("/webhooks/scheduler", status_code=200, sync_to_thread=True, exclude_from_auth=True,
      operation_class=SchedulerEventOperation)
def scheduler_event(request: Request[Any, Any, Any], body: bytes, db: Session) -> Response[dict[str, Any]]:
    """Accept one signed scheduler event; answers what it did."""
    try:
        account = verify(db, request.headers, body)
        event = parse(body)
    except Rejected as exc:
        return Response({"status_code": exc.status_code, "detail": exc.detail}, status_code=exc.status_code)
    if not _record_once(db, account, event, body):
        db.rollback()
        return Response({"status": "duplicate", "event_id": event.external_id})
    result: dict[str, Any] = {"status": "accepted", "event_id": event.external_id}
    if event.type == "session.abandoned":
        followup = session_abandoned(db, account, event)
        result["followup_id"] = followup.id if followup else None
    else:
        booking = session_completed(db, account, event)
        result["booking_id"] = booking.id
    db.commit()
    return Response(result)


ROUTES: list[Any] = [scheduler_event]
