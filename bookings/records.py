"""A booking as everyone sees it, and the one way a new or changed booking is announced."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.models import Booking, BookingSession, session_ref
from core import hooks
from inbox import events


def booking_json(booking: Booking) -> dict[str, object]:
    """A booking as the API and the `booking.created` event show it."""
    return {
        "id": booking.id, "contact_id": booking.contact_id, "thread_id": booking.thread_id,
        "followup_id": booking.followup_id, "session_id": booking.session_id,
        # The scheduler's own session id, so an integration can match the booking to its records.
        "session_ref": session_ref(booking),
        "variant": booking.variant,
        "source": booking.source, "status": booking.status, "job_type": booking.job_type,
        "starts_at": booking.starts_at.isoformat() if booking.starts_at else None,
        "ends_at": booking.ends_at.isoformat() if booking.ends_at else None,
        "external_job_id": booking.external_job_id,
        "created_at": booking.created_at.isoformat() if booking.created_at else None,
    }


def latest_booking_session(session: Session, account_id: int, contact_id: int) -> BookingSession | None:
    """The contact's most recent booking session from the scheduler widget: what a booking answers."""
    return session.scalar(select(BookingSession).where(
        BookingSession.account_id == account_id, BookingSession.contact_id == contact_id)
        .order_by(BookingSession.id.desc()).limit(1))


def announce_created(session: Session, booking: Booking) -> Booking:
    """Tell the consumers (attribution, integrations) in this transaction, then the browsers after commit."""
    if booking.session_id is None:  # a booking answers the customer's latest visit to the scheduler, if any
        asked = latest_booking_session(session, booking.account_id, booking.contact_id)
        booking.session_id = asked.id if asked else None
    session.flush()
    hooks.announce(session, hooks.BOOKING_CREATED, booking=booking)
    session.flush()
    events.emit(session, booking.account_id, events.BOOKING_CREATED, booking_json(booking), thread_id=booking.thread_id)
    return booking


def announce_changed(session: Session, booking: Booking, change: str) -> Booking:
    """A booking was rescheduled or cancelled (`change`)."""
    session.flush()
    hooks.announce(session, hooks.BOOKING_CHANGED, booking=booking, change=change)
    return booking
