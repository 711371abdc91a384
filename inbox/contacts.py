"""Finding or creating the people who text, and their conversation: one way for every entry point."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox import events
from inbox.models import Account, Contact, Thread
from inbox.phones import timezone_of

OPEN_STATUSES = ("open", "pending", "snoozed")


def upsert_contact(session: Session, account: Account, phone: str, **details: str | None) -> Contact:
    """The account's contact for `phone` (E.164), created if new; `details` (name, email, zip) fill gaps
    and never overwrite what a rep or an earlier event already stored."""
    contact = session.scalar(select(Contact).where(Contact.account_id == account.id, Contact.phone == phone))
    if contact is None:
        try:
            with session.begin_nested():  # two first texts (or events) from the same person at once: one contact
                contact = Contact(account_id=account.id, phone=phone, timezone=timezone_of(phone, account.timezone))
                session.add(contact)
        except IntegrityError:
            contact = session.scalars(select(Contact).where(
                Contact.account_id == account.id, Contact.phone == phone)).one()
    for field, value in details.items():
        if value and not getattr(contact, field):
            setattr(contact, field, value)
    return contact


def thread_for(session: Session, contact: Contact, *, reopen: bool) -> Thread:
    """The contact's conversation. A customer's text (`reopen=True`) continues their latest thread,
    even a resolved one; our own outreach (`reopen=False`) leaves a resolved thread closed and opens a
    new one. A new outreach thread is announced here; a customer's text announces its thread itself,
    once the message is stored."""
    query = select(Thread).where(Thread.account_id == contact.account_id, Thread.contact_id == contact.id)
    if not reopen:
        query = query.where(Thread.status.in_(OPEN_STATUSES))
    thread = session.scalar(query.order_by(Thread.id.desc()).limit(1))
    if thread is None:
        thread = Thread(account_id=contact.account_id, contact_id=contact.id, status="open", owner="none",
                        opted_out=contact.opted_out)
        session.add(thread)
        session.flush()
        if not reopen:
            events.thread_changed(session, thread, contact)
    return thread
