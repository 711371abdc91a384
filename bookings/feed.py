"""The account's bookings as an iCalendar (RFC 5545) feed, for a technician's phone calendar.

The feed URL carries a secret token (anyone with the URL reads the day's customers, as calendar
apps cannot log in); rotating the token retires the old URL. Each booking is one VEVENT whose UID
never changes, so a calendar app updates the event when a booking moves or is cancelled.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.models import Booking
from core.db import utcnow
from inbox.models import Account, Contact
from inbox.phones import display

HISTORY = timedelta(days=90)  # past visits a phone needs to show; older ones only grow the feed


def feed_token(session: Session, account: Account, *, rotate: bool = False) -> str:
    """The account's feed token, made on first use (or replaced when `rotate`)."""
    if rotate or not account.feed_token:
        account.feed_token = secrets.token_urlsafe(32)
        session.flush()
    return account.feed_token


def feed_path(token: str) -> str:
    return f"/feeds/{token}/bookings.ics"


def account_for_token(session: Session, token: str) -> Account | None:
    if not token:
        return None
    return session.scalar(select(Account).where(Account.feed_token == token))


def render(session: Session, account: Account, public_url: str) -> bytes:
    """The feed: the account's bookings that have a time, from HISTORY ago on."""
    host = urlsplit(public_url).hostname or "textdesk"
    cal = Calendar()
    cal.add("prodid", "-//textdesk//bookings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{account.name} bookings")
    cal.add("x-wr-timezone", account.timezone)
    rows = session.execute(select(Booking, Contact).join(Contact, Contact.id == Booking.contact_id).where(
        Booking.account_id == account.id, Booking.starts_at.is_not(None),
        Booking.starts_at >= utcnow() - HISTORY).order_by(Booking.starts_at))
    for booking, contact in rows:
        event = Event()
        event.add("uid", f"booking-{booking.id}@{host}")
        event.add("dtstamp", booking.updated_at or booking.created_at)
        event.add("dtstart", booking.starts_at)
        event.add("dtend", booking.ends_at or booking.starts_at + timedelta(hours=1))  # type: ignore[operator]
        event.add("summary", f"{booking.job_type or 'Visit'}: {contact.name or display(contact.phone)}")
        event.add("description", f"{contact.name or 'Customer'} {display(contact.phone)}\n"
                                 f"Booked by {booking.source}" + (f", ZIP {contact.zip}" if contact.zip else ""))
        event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
        event.add("last-modified", booking.updated_at or booking.created_at)
        cal.add_component(event)
    return cal.to_ical()
