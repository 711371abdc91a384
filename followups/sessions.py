"""Booking sessions reported by scheduler widgets: abandoned schedules a follow-up, completed
cancels it and records the booking. Called by webhooks/scheduler.py after it verified and parsed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.models import Booking
from core.db import utcnow
from followups import links
from followups.models import BookingSession, Followup
from followups.scheduling import schedule_followup
from followups.service import cancel
from inbox import events
from inbox.models import Account, Contact, Thread
from inbox.phones import timezone_of
from inbox.serializers import iso, thread_json

OPEN_STATUSES = ("open", "pending", "snoozed")


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


def upsert_contact(session: Session, account: Account, event: SessionEvent) -> Contact:
    """The account's contact for this phone, created if new; details the widget sent fill the gaps."""
    contact = session.scalar(select(Contact).where(Contact.account_id == account.id, Contact.phone == event.phone))
    if contact is None:
        try:
            with session.begin_nested():  # a concurrent event for the same phone may insert it first
                contact = Contact(account_id=account.id, phone=event.phone, name=event.name, email=event.email,
                                  zip=event.zip, timezone=timezone_of(event.phone, account.timezone))
                session.add(contact)
        except IntegrityError:
            contact = session.scalars(select(Contact).where(
                Contact.account_id == account.id, Contact.phone == event.phone)).one()
    for field in ("name", "email", "zip"):
        if getattr(event, field) and not getattr(contact, field):
            setattr(contact, field, getattr(event, field))
    return contact


def thread_for(session: Session, account_id: int, contact: Contact) -> Thread:
    """The contact's most recent unresolved thread, or a new open one."""
    thread = session.scalar(select(Thread).where(
        Thread.account_id == account_id, Thread.contact_id == contact.id, Thread.status.in_(OPEN_STATUSES),
    ).order_by(Thread.id.desc()).limit(1))
    if thread is None:
        thread = Thread(account_id=account_id, contact_id=contact.id, status="open", owner="none")
        session.add(thread)
        session.flush()
        events.emit(session, account_id, events.THREAD_UPDATED, thread_json(thread, contact), thread_id=thread.id)
    return thread


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
    contact = upsert_contact(session, account, event)
    thread = thread_for(session, account.id, contact)
    booking = _booking_session(session, account, event, contact, thread)
    if booking.status == "completed":  # events can arrive out of order: completed wins
        return None
    booking.abandoned_at = event.occurred_at
    return schedule_followup(session, account, booking, event.occurred_at)


def session_completed(session: Session, account: Account, event: SessionEvent) -> Booking:
    """Cancel the session's follow-up (the customer booked alone) and record the booking, attributed to
    the follow-up's link when the customer tapped it."""
    contact = upsert_contact(session, account, event)
    thread = thread_for(session, account.id, contact)
    booking_session = _booking_session(session, account, event, contact, thread)
    booking_session.status = "completed"
    booking_session.completed_at = event.occurred_at
    followup = session.scalar(select(Followup).where(Followup.session_id == booking_session.id))
    clicked = False
    if followup is not None:
        cancel(session, followup, "session_completed")
        clicked = links.was_clicked(session, followup.id)
    booking = Booking(account_id=account.id, contact_id=contact.id, thread_id=booking_session.thread_id,
                      session_id=booking_session.id, followup_id=followup.id if followup else None,
                      variant=followup.variant if followup else None, source="link" if clicked else "scheduler",
                      job_type=event.job_type or booking_session.job_type, starts_at=event.starts_at,
                      external_job_id=event.job_id, status="booked", created_at=utcnow())
    session.add(booking)
    session.flush()
    events.emit(session, account.id, events.BOOKING_CREATED, booking_json(booking), thread_id=booking.thread_id)
    return booking


def booking_json(booking: Booking) -> dict[str, object]:
    return {"id": booking.id, "contact_id": booking.contact_id, "thread_id": booking.thread_id,
            "followup_id": booking.followup_id, "variant": booking.variant, "source": booking.source,
            "starts_at": iso(booking.starts_at), "job_type": booking.job_type,
            "created_at": iso(booking.created_at)}
