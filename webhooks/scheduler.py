"""`POST /webhooks/scheduler`: booking-session events from the business's scheduler widget.

Verifies the signature (`v1=` HMAC-SHA256 over "{timestamp}.{raw body}" with the account's
webhook secret, five-minute window), parses and validates, records the event id once, and hands
the work to followups.sessions. A rejected request stores nothing. `occurred_at` must lie between
30 days ago and a day from now, `job.starts_at` between 30 days ago and two years ahead; text
with a NUL or a lone surrogate is refused (422 naming the field).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, post
from litestar.exceptions import HTTPException
from litestar.response import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.inputs import id_in_range, text_problem
from followups.models import SchedulerEvent
from followups.sessions import SessionEvent, session_abandoned, session_completed
from inbox.models import Account
from inbox.phones import InvalidPhone, to_e164
from webhooks.openapi import SchedulerEventOperation

TOLERANCE_SECONDS = 300
EVENT_TYPES = ("session.abandoned", "session.completed")
# A widget reports what just happened: an occurred_at outside this window is a broken clock or a
# forged event, and a follow-up scheduled from it would fire at once or never.
OCCURRED_NOT_BEFORE = timedelta(days=30)
OCCURRED_NOT_AFTER = timedelta(days=1)
# A booked job's start: recent past (a late report) up to two years ahead.
STARTS_NOT_BEFORE = timedelta(days=30)
STARTS_NOT_AFTER = timedelta(days=731)
MAX_DEPTH = 8


class Rejected(HTTPException):
    """A 4xx with a `detail` that says which header or field is wrong."""


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The `X-Textdesk-Signature` value a widget sends for `body` at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(session: Session, headers: Any, body: bytes, now: float | None = None) -> Account:
    """The signing account, or Rejected (400 for a missing or malformed header, 403 for anything untrusted)."""
    values = {}
    for name in ("x-textdesk-account", "x-textdesk-timestamp", "x-textdesk-signature"):
        values[name] = (headers.get(name) or "").strip()
        if not values[name]:
            raise Rejected(status_code=400, detail=f"header {name.title()} is missing")
    account_id, timestamp, signature = values.values()
    # Shapes first, so nothing oversized reaches int(), the database or the HMAC.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Rejected(status_code=400, detail="X-Textdesk-Timestamp: must be unix seconds (digits only)")
    if not (account_id.isascii() and account_id.isdigit() and len(account_id) <= 19):
        raise Rejected(status_code=400, detail="X-Textdesk-Account: must be an account id (digits only)")
    account = session.get(Account, int(account_id)) if id_in_range(Account, int(account_id)) else None
    if account is None:
        raise Rejected(status_code=403, detail="X-Textdesk-Account: unknown account")
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
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


def _time(obj: dict[str, Any], key: str, field: str, required: bool,
          window: tuple[timedelta, timedelta]) -> datetime | None:
    raw = _text(obj, key, field, required)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(field, f"{raw[:40]!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise _invalid(field, "needs a time zone (for example 2026-11-22T15:04:05Z)")
    now = datetime.now(UTC)
    try:
        value = value.astimezone(UTC)
        sane = now - window[0] <= value <= now + window[1]
    except OverflowError:  # year 1 or 9999 shifted by its offset leaves datetime's range
        sane = False
    if not sane:
        raise _invalid(field, f"{raw[:40]!r} is not between {window[0].days} days ago and "
                              f"{window[1].days} day{'s' if window[1].days != 1 else ''} from now")
    return value


def _storable(value: Any, path: str, depth: int = 0) -> None:
    """Every string (key or value) must be text the database can store; nesting stays shallow."""
    if depth > MAX_DEPTH:
        raise _invalid(path or "body", f"is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        if problem := text_problem(value):
            raise _invalid(path or "body", problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if problem := text_problem(key):
                raise _invalid(repr(key)[:40], f"field name {problem}")
            _storable(item, child, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable(item, f"{path}[{index}]", depth + 1)


def _finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_constant(raw: str) -> Any:
    raise ValueError(f"{raw} is not JSON")


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
        data = json.loads(body, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("body", "is not JSON") from None
    except RecursionError:
        raise _invalid("body", f"is nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise _invalid("body", "must be a JSON object")
    _storable(data, "")
    event_id = _text(data, "id", "id", required=True, limit=128)
    event_type = _text(data, "type", "type", required=True)
    if event_type not in EVENT_TYPES:
        raise _invalid("type", f"unknown type {event_type!r} (expected {' or '.join(EVENT_TYPES)})")
    occurred_at = _time(data, "occurred_at", "occurred_at", True, (OCCURRED_NOT_BEFORE, OCCURRED_NOT_AFTER))
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
        starts_at=_time(job, "starts_at", "job.starts_at", False, (STARTS_NOT_BEFORE, STARTS_NOT_AFTER)),
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
