"""Builders shared by the inbox tests: a contact with a thread, fixed instants in known zones."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from inbox.models import Contact, Thread

# 18:00 UTC = 10:00 in Los Angeles, 13:00 in New York: inside sending hours on both coasts.
MIDDAY = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def make_thread(session: Session, account_id: int, phone: str = "+14155550134", **contact_fields: object) -> Thread:
    """A contact and an open thread for them."""
    contact = Contact(account_id=account_id, phone=phone, name="Dana Reyes", **contact_fields)
    session.add(contact)
    session.flush()
    thread = Thread(account_id=account_id, contact_id=contact.id)
    session.add(thread)
    session.flush()
    return thread
