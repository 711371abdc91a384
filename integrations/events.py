"""What each announced fact becomes as an outbound webhook event, and the reactions that record it
(`register` wires them). Each event's data is taken in the announcing transaction, so it says what
was true when the fact committed, however late the delivery."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from bookings.models import Booking, BookingSession
from bookings.records import booking_json
from core import hooks
from followups.models import Followup
from followups.service import followup_json
from inbox.inbound import InboundResult
from inbox.models import Contact, Message, Thread
from inbox.serializers import message_json
from integrations.delivery import record

BOOKING_CHANGES = {"rescheduled": "booking.rescheduled", "cancelled": "booking.cancelled"}


def contact_data(contact: Contact | None) -> dict[str, Any] | None:
    return None if contact is None else {"id": contact.id, "phone": contact.phone, "name": contact.name}


def session_ref(session: Session, session_id: int | None) -> str | None:
    """The scheduler's own id of the booking session (`session.id` of its event), for matching records."""
    booking_session = session.get(BookingSession, session_id) if session_id else None
    return booking_session.external_id if booking_session else None


def booking_data(session: Session, booking: Booking) -> dict[str, Any]:
    """The booking as `GET /api/v1/bookings` shows it, with its contact and the scheduler's session id."""
    return booking_json(booking) | {"contact": contact_data(session.get(Contact, booking.contact_id)),
                                    "session_ref": session_ref(session, booking.session_id)}


def on_booking_created(session: Session, *, booking: Booking) -> None:
    record(session, booking.account_id, "booking.created", lambda: booking_data(session, booking))


def on_booking_changed(session: Session, *, booking: Booking, change: str) -> None:
    event_type = BOOKING_CHANGES.get(change)
    if event_type:
        record(session, booking.account_id, event_type, lambda: booking_data(session, booking))


def on_opted_out(session: Session, *, contact: Contact, source: str) -> None:
    record(session, contact.account_id, "contact.opted_out",
           lambda: {"contact": contact_data(contact), "source": source})


def on_opted_in(session: Session, *, contact: Contact, source: str) -> None:
    record(session, contact.account_id, "contact.opted_in",
           lambda: {"contact": contact_data(contact), "source": source})


def on_handed_off(session: Session, *, thread: Thread, reason: str) -> None:
    record(session, thread.account_id, "thread.handed_off", lambda: {
        "thread_id": thread.id, "reason": reason, "owner": thread.owner, "escalated": thread.escalated,
        "contact": contact_data(session.get(Contact, thread.contact_id))})


def received_data(text: InboundResult) -> dict[str, Any]:
    return message_json(text.message) | {"contact": contact_data(text.contact), "compliance": text.compliance}


def on_texts_received(session: Session, *, received: list[InboundResult]) -> None:
    for text in received:
        record(session, text.message.account_id, "message.received", partial(received_data, text))


def on_message_status(session: Session, *, message: Message) -> None:
    record(session, message.account_id, "message.status", lambda: message_json(message) | {
        "contact": contact_data(session.get(Contact, message.contact_id))})


def on_followup_sent(session: Session, *, followup: Followup, message: Message) -> None:
    record(session, followup.account_id, "followup.sent", lambda: followup_json(followup) | {
        "message_id": message.id, "contact": contact_data(session.get(Contact, followup.contact_id)),
        "session_ref": session_ref(session, followup.session_id)})


def register() -> None:
    hooks.register(hooks.BOOKING_CREATED, on_booking_created)
    hooks.register(hooks.BOOKING_CHANGED, on_booking_changed)
    hooks.register(hooks.CONTACT_OPTED_OUT, on_opted_out)
    hooks.register(hooks.CONTACT_OPTED_IN, on_opted_in)
    hooks.register(hooks.THREAD_HANDED_OFF, on_handed_off)
    hooks.register(hooks.TEXTS_RECEIVED, on_texts_received)
    hooks.register(hooks.MESSAGE_STATUS, on_message_status)
    hooks.register(hooks.FOLLOWUP_SENT, on_followup_sent)
