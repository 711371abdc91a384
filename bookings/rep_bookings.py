"""A rep books, moves or cancels a customer's job: the same calendar, checks and seat locking as
the agent, plus a note on the thread so the team sees who did it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bookings.calendar import SlotUnavailable, get_backend
from bookings.models import Booking, JobType
from bookings.offer import slot_label
from inbox.models import Account, Contact, Thread, User
from inbox.threads import add_note


class BookingClosed(SlotUnavailable):
    """The booking was already cancelled: nothing left to move or cancel."""


def _note(session: Session, booking: Booking, actor: User, text: str) -> None:
    thread = session.get(Thread, booking.thread_id) if booking.thread_id else None
    if thread is not None:
        add_note(session, thread, text, author=actor, author_kind="system")


def book(session: Session, account: Account, contact: Contact, thread: Thread | None, job: JobType,
         start: datetime, actor: User) -> Booking:
    """Book `job` at `start` for the contact (source "csr"); SlotFull or SlotUnavailable if not possible."""
    booking = get_backend(account).book(session, account, job, start, contact_id=contact.id,
                                        thread_id=thread.id if thread else None, source="csr")
    _note(session, booking, actor, f"{actor.name} booked {job.name} for {slot_label(account, booking.starts_at)}")  # type: ignore[arg-type]
    return booking


def reschedule(session: Session, account: Account, booking: Booking, start: datetime, actor: User) -> Booking:
    """Move the booking to another open slot; its old seat is released."""
    if booking.status != "booked":
        raise BookingClosed(f"booking {booking.id} is {booking.status}; book a new visit instead")
    before = booking.starts_at
    get_backend(account).reschedule(session, account, booking, start, contact_id=booking.contact_id)
    if booking.starts_at != before:
        _note(session, booking, actor, f"{actor.name} moved {booking.job_type or 'the visit'} to "
                                       f"{slot_label(account, booking.starts_at)}")  # type: ignore[arg-type]
    return booking


def cancel(session: Session, account: Account, booking: Booking, actor: User) -> Booking:
    """Cancel the booking and release its seat."""
    if booking.status != "booked":
        raise BookingClosed(f"booking {booking.id} is already {booking.status}")
    get_backend(account).cancel(session, account, booking, contact_id=booking.contact_id)
    when = f" on {slot_label(account, booking.starts_at)}" if booking.starts_at else ""
    _note(session, booking, actor, f"{actor.name} cancelled {booking.job_type or 'the visit'}{when}")
    return booking
