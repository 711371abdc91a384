"""GET /api/v1/bookings: the account's bookings and what produced each (agent, link, CSR, scheduler)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.models import Booking
from bookings.records import booking_json
from inbox.accounts import ValidationError
from web.auth import CurrentUser

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


ROUTES: list[Any] = [list_bookings]
