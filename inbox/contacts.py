"""Finding or creating the people who text, and their conversation: one way for every entry point,
for one person or for a batch of inbound texts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from inbox import events
from inbox.models import Account, Contact, Thread
from inbox.phones import timezone_of

OPEN_STATUSES = ("open", "pending", "snoozed")

# Built once: every inbound batch runs these, and building a statement costs more than running it.
_CONTACTS = select(Contact).where(Contact.account_id == bindparam("account_id"),
                                  Contact.phone.in_(bindparam("phones", expanding=True)))
_LATEST = select(func.max(Thread.id)).where(Thread.contact_id.in_(bindparam("contact_ids", expanding=True)))
_EARLIER = aliased(Thread)
_CONVERSATIONS = (  # each contact with its latest thread, for a customer's text
    select(Contact, Thread)
    .outerjoin(Thread, Thread.id == select(func.max(_EARLIER.id)).where(_EARLIER.contact_id == Contact.id)
               .scalar_subquery())
    .where(Contact.account_id == bindparam("account_id"), Contact.phone.in_(bindparam("phones", expanding=True)))
)
_THREADS = {
    True: select(Thread).where(Thread.id.in_(_LATEST.group_by(Thread.contact_id))),
    False: select(Thread).where(Thread.id.in_(_LATEST.where(Thread.status.in_(OPEN_STATUSES))
                                              .group_by(Thread.contact_id))),
}


def contacts_for(session: Session, account: Account, phones: Iterable[str]) -> dict[str, Contact]:
    """The account's contacts for `phones` (E.164), the missing ones created: one read, and for new
    people one INSERT that another transaction creating the same person at once cannot break."""
    wanted = set(phones)
    found = {c.phone: c for c in session.scalars(_CONTACTS, {"account_id": account.id, "phones": list(wanted)})}
    missing = sorted(wanted - found.keys())
    if missing:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(Contact).on_conflict_do_nothing(index_elements=["account_id", "phone"]),
                        [{"account_id": account.id, "phone": phone, "timezone": timezone_of(phone, account.timezone),
                          "opted_out": False} for phone in missing])
        found |= {c.phone: c for c in session.scalars(_CONTACTS, {"account_id": account.id, "phones": missing})}
    return found


def upsert_contact(session: Session, account: Account, phone: str, **details: str | None) -> Contact:
    """The account's contact for `phone` (E.164), created if new; `details` (name, email, zip) fill gaps
    and never overwrite what a rep or an earlier event already stored."""
    contact = contacts_for(session, account, [phone])[phone]
    for field, value in details.items():
        if value and not getattr(contact, field):
            setattr(contact, field, value)
    return contact


def threads_for(session: Session, contacts: Iterable[Contact], *, reopen: bool) -> dict[int, Thread]:
    """Each contact's conversation, by contact id (see `thread_for`), with one read for all of them."""
    by_id = {c.id: c for c in contacts}
    threads = {t.contact_id: t for t in session.scalars(_THREADS[reopen], {"contact_ids": list(by_id)})}
    new = [Thread(account_id=c.account_id, contact_id=c.id, status="open", owner="none", opted_out=c.opted_out)
           for c in by_id.values() if c.id not in threads]
    if new:
        session.add_all(new)
        session.flush()
        threads |= {t.contact_id: t for t in new}
        if not reopen:
            for thread in new:
                events.thread_changed(session, thread, by_id[thread.contact_id])
    return threads


def conversations_for(session: Session, account: Account, phones: Iterable[str]) -> dict[str, tuple[Contact, Thread]]:
    """Each phone's contact and the thread a text from it continues (as `thread_for(reopen=True)`): one
    read for people who texted before; the missing contacts and threads are created."""
    found = {c.phone: (c, t) for c, t in session.execute(_CONVERSATIONS, {"account_id": account.id,
                                                                          "phones": list(set(phones))})}
    contacts = {phone: contact for phone, (contact, _) in found.items()}
    if missing := set(phones) - contacts.keys():
        contacts |= contacts_for(session, account, missing)
    threads = {thread.contact_id: thread for _, thread in found.values() if thread is not None}
    if without := [c for c in contacts.values() if c.id not in threads]:
        threads |= threads_for(session, without, reopen=True)
    return {phone: (contact, threads[contact.id]) for phone, contact in contacts.items()}


def thread_for(session: Session, contact: Contact, *, reopen: bool) -> Thread:
    """The contact's conversation. A customer's text (`reopen=True`) continues their latest thread,
    even a resolved one; our own outreach (`reopen=False`) leaves a resolved thread closed and opens a
    new one. A new outreach thread is announced here; a customer's text announces its thread itself,
    once the message is stored."""
    return threads_for(session, [contact], reopen=reopen)[contact.id]
