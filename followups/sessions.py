"""Booking sessions reported by scheduler widgets: abandoned schedules a follow-up, completed
cancels it and records the booking. Called by webhooks/scheduler.py after it verified and parsed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.catalog import resolve_job_type
from bookings.models import Booking, BookingSession
from bookings.records import announce_created
from core.db import utcnow
from followups import links
from followups.models import Followup
from followups.scheduling import schedule_followup
from followups.service import cancel
from inbox.contacts import thread_for, upsert_contact
from inbox.models import Account, Contact, Thread


@dataclass(frozen=True)
class SessionEvent:
    """A parsed scheduler event (the webhook validated every field)."""

    external_id: str
    type: str
    occurred_at: datetime
    session_id: str
    session_url: str | None
    phone: str  # E.164
    name: str | None
    email: str | None
    zip: str | None
    job_type: str | None
    job_notes: str | None
    job_id: str | None
    starts_at: datetime | None


def _booking_session(session: Session, account: Account, event: SessionEvent, contact: Contact,
                     thread: Thread) -> BookingSession:
    row = session.scalar(select(BookingSession).where(
        BookingSession.account_id == account.id, BookingSession.external_id == event.session_id))
    if row is None:
        row = BookingSession(account_id=account.id, external_id=event.session_id, contact_id=contact.id,
                             thread_id=thread.id)
        session.add(row)
    row.url = event.session_url or row.url
    row.job_type = event.job_type or row.job_type
    row.job_notes = event.job_notes or row.job_notes
    session.flush()
    return row


def session_abandoned(session: Session, account: Account, event: SessionEvent) -> Followup | None:
    """Store the session and schedule its one follow-up (None if it is already completed or has one)."""
    contact = upsert_contact(session, account, event.phone, name=event.name, email=event.email, zip=event.zip)
    thread = thread_for(session, contact, reopen=False)
    booking = _booking_session(session, account, event, contact, thread)
    if booking.status == "completed":  # events can arrive out of order: completed wins
        return None
    booking.abandoned_at = event.occurred_at
    return schedule_followup(session, account, booking, event.occurred_at)


def session_completed(session: Session, account: Account, event: SessionEvent) -> Booking:
    """Cancel the session's follow-up (the customer booked alone) and record the booking, attributed to
    the follow-up's link when the customer tapped it."""
    contact = upsert_contact(session, account, event.phone, name=event.name, email=event.email, zip=event.zip)
    thread = thread_for(session, contact, reopen=False)
    booking_session = _booking_session(session, account, event, contact, thread)
    booking_session.status = "completed"
    booking_session.completed_at = event.occurred_at
    followup = session.scalar(select(Followup).where(Followup.session_id == booking_session.id))
    clicked = False
    if followup is not None:
        cancel(session, followup, "session_completed")
        clicked = links.was_clicked(session, followup.id)
    requested = event.job_type or booking_session.job_type
    # The widget may say "no hot water" for what the business calls "Water heater repair".
    job, matched = resolve_job_type(session, account, requested)
    booking = Booking(account_id=account.id, contact_id=contact.id, thread_id=booking_session.thread_id,
                      session_id=booking_session.id, followup_id=followup.id if followup else None,
                      variant=followup.variant if followup else None, source="link" if clicked else "scheduler",
                      job_type=job.name if matched and job else requested, starts_at=event.starts_at,
                      external_job_id=event.job_id, status="booked", created_at=utcnow())
    session.add(booking)
    return announce_created(session, booking)
