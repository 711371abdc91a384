"""Bookings in the JSON API: the list (what produced each: agent, link, CSR, scheduler) and a rep's
book, reschedule and cancel, with the agent's calendar checks and seat locking.

A full slot is a 409 (it may have filled a moment ago); a time that is not an open slot is a 422.
The calendar's own routes (web/api_calendar.py) are served through this module's ROUTES too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import ClientException
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings import rep_bookings
from bookings.calendar import SlotFull, SlotUnavailable, zone
from bookings.catalog import job_type_named
from bookings.models import Booking
from bookings.records import booking_json
from inbox.accounts import ValidationError
from inbox.contacts import thread_for
from inbox.models import Account, Contact, Thread, User
from web import api_calendar
from web.auth import CurrentUser, scoped
from web.errors import unprocessable

SOURCES = ("agent", "link", "csr", "scheduler")
STATUSES = ("booked", "cancelled")


@get("/api/v1/bookings", sync_to_thread=True)
def list_bookings(request: Request[CurrentUser, Any, Any], db: Session, source: str | None = None,
                  status: str | None = None, contact_id: int | None = None, thread_id: int | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
    """The caller's account's bookings, newest first, optionally filtered."""
    if source is not None and source not in SOURCES:
        raise ValidationError(f"source: must be one of {', '.join(SOURCES)}")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status: must be one of {', '.join(STATUSES)}")
    if not 1 <= limit <= 1000:
        raise ValidationError("limit: must be between 1 and 1000")
    stmt = select(Booking).where(Booking.account_id == request.user.account_id)
    if source:
        stmt = stmt.where(Booking.source == source)
    if status:
        stmt = stmt.where(Booking.status == status)
    if contact_id is not None:
        stmt = stmt.where(Booking.contact_id == contact_id)
    if thread_id is not None:
        stmt = stmt.where(Booking.thread_id == thread_id)
    return [booking_json(b) for b in db.scalars(stmt.order_by(Booking.id.desc()).limit(limit))]


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise unprocessable("body: must be a JSON object")
    return data


def _start(account: Account, data: dict[str, Any]) -> datetime:
    raw = data.get("start")
    if not isinstance(raw, str) or not raw.strip():
        raise unprocessable("start: required, a slot start as /api/v1/calendar/slots gives it")
    try:
        start = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise unprocessable(f'start: "{raw}" is not an ISO 8601 time') from None
    # Without an offset the time is read in the business's zone, as the calendar shows it.
    return start if start.tzinfo else start.replace(tzinfo=zone(account))


def _write(db: Session, action: Any) -> dict[str, Any]:
    """Run a calendar write and commit it; a refusal rolls everything back and becomes 409 or 422."""
    try:
        booking = action()
    except SlotFull as exc:
        db.rollback()
        raise ClientException(status_code=409, detail=f"start: {exc}") from None
    except rep_bookings.BookingClosed as exc:
        db.rollback()
        raise ClientException(status_code=409, detail=str(exc)) from None
    except SlotUnavailable as exc:
        db.rollback()
        raise unprocessable(f"start: {exc}") from None
    db.commit()
    return booking_json(booking)


def _context(db: Session, user: CurrentUser) -> tuple[Account, User]:
    return db.get_one(Account, user.account_id), db.get_one(User, user.id)


@post("/api/v1/bookings", sync_to_thread=True, status_code=201)
def create_booking(request: Request[CurrentUser, Any, Any], db: Session, data: Any) -> dict[str, Any]:
    """A rep books `{contact_id, job_type, start}` (optionally `thread_id`); the booking's source is "csr"."""
    body = _body(data)
    account, actor = _context(db, request.user)
    contact_id = body.get("contact_id")
    if isinstance(contact_id, bool) or not isinstance(contact_id, int):
        raise unprocessable("contact_id: required, a contact id")
    contact: Contact = scoped(db, Contact, contact_id, request.user)
    name = body.get("job_type")
    if not isinstance(name, str) or not name.strip():
        raise unprocessable("job_type: required, a job type name")
    job = job_type_named(db, account, name)
    if job is None:
        raise unprocessable(f'job_type: "{name}" is not an active job type or alias')
    start = _start(account, body)
    thread_id = body.get("thread_id")
    if thread_id is not None:
        if isinstance(thread_id, bool) or not isinstance(thread_id, int):
            raise unprocessable("thread_id: a thread id or null")
        thread: Thread = scoped(db, Thread, thread_id, request.user)
        if thread.contact_id != contact.id:
            raise unprocessable(f"thread_id: thread {thread_id} is not this contact's")
    else:
        thread = thread_for(db, contact, reopen=True)
    return _write(db, lambda: rep_bookings.book(db, account, contact, thread, job, start, actor))


@post("/api/v1/bookings/{booking_id:int}/reschedule", sync_to_thread=True, status_code=200)
def reschedule_booking(request: Request[CurrentUser, Any, Any], db: Session, booking_id: int,
                       data: Any) -> dict[str, Any]:
    """Move a booking to another open slot `{start}`."""
    booking: Booking = scoped(db, Booking, booking_id, request.user)
    account, actor = _context(db, request.user)
    start = _start(account, _body(data))
    return _write(db, lambda: rep_bookings.reschedule(db, account, booking, start, actor))


@post("/api/v1/bookings/{booking_id:int}/cancel", sync_to_thread=True, status_code=200)
def cancel_booking(request: Request[CurrentUser, Any, Any], db: Session, booking_id: int) -> dict[str, Any]:
    """Cancel a booking and free its technician; 409 if it was already cancelled."""
    booking: Booking = scoped(db, Booking, booking_id, request.user)
    account, actor = _context(db, request.user)
    return _write(db, lambda: rep_bookings.cancel(db, account, booking, actor))


ROUTES: list[Any] = [list_bookings, create_booking, reschedule_booking, cancel_booking, *api_calendar.ROUTES]
