"""The consent ledger and what it decides: opted out or not, and marketing double opt-in.

The ledger (`ConsentEvent`) is append-only; the flags on the contact (`opted_out`,
`marketing_opt_in`) and threads (`opted_out`) are the current state derived from it and are
always written in the same transaction as the ledger row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import hooks
from core.db import utcnow
from inbox.models import ConsentEvent, Contact, Thread

# A YES counts as written marketing consent only this long after the request.
OPT_IN_WINDOW = timedelta(days=7)


def record(
    session: Session,
    contact: Contact,
    action: str,
    *,
    source: str,
    category: str = "all",
    raw_text: str | None = None,
    message_id: int | None = None,
    actor_user_id: int | None = None,
    now: datetime | None = None,
) -> ConsentEvent:
    """Append one ledger row (actions: opt_in, opt_out, help, opt_in_requested)."""
    event = ConsentEvent(
        account_id=contact.account_id,
        contact_id=contact.id,
        phone=contact.phone,
        category=category,
        action=action,
        source=source,
        raw_text=raw_text,
        message_id=message_id,
        actor_user_id=actor_user_id,
        created_at=now or utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def _flag_threads(session: Session, contact: Contact, opted_out: bool) -> None:
    session.execute(
        update(Thread)
        .where(Thread.contact_id == contact.id)
        .values(opted_out=opted_out)
        .execution_options(synchronize_session="fetch")
    )


def opt_out(
    session: Session,
    contact: Contact,
    *,
    source: str,
    raw_text: str | None = None,
    message_id: int | None = None,
    actor_user_id: int | None = None,
) -> ConsentEvent:
    """The contact opts out of every text from this account; their threads are flagged."""
    contact.opted_out = True
    if contact.marketing_opt_in:
        contact.marketing_opt_in = None
    _flag_threads(session, contact, True)
    event = record(
        session,
        contact,
        "opt_out",
        source=source,
        raw_text=raw_text,
        message_id=message_id,
        actor_user_id=actor_user_id,
    )
    hooks.announce(session, hooks.CONTACT_OPTED_OUT, contact=contact, source=source)
    return event


def opt_in(
    session: Session,
    contact: Contact,
    *,
    source: str,
    raw_text: str | None = None,
    message_id: int | None = None,
    actor_user_id: int | None = None,
) -> ConsentEvent:
    """The contact opts back in to (transactional) texts."""
    contact.opted_out = False
    _flag_threads(session, contact, False)
    event = record(
        session,
        contact,
        "opt_in",
        source=source,
        raw_text=raw_text,
        message_id=message_id,
        actor_user_id=actor_user_id,
    )
    hooks.announce(session, hooks.CONTACT_OPTED_IN, contact=contact, source=source)
    return event


def pending_marketing_request(
    session: Session, contact: Contact, now: datetime | None = None
) -> ConsentEvent | None:
    """The open marketing opt-in request YES would answer: sent within the window, not yet answered."""
    now = now or utcnow()
    latest = session.scalar(
        select(ConsentEvent)
        .where(ConsentEvent.contact_id == contact.id, ConsentEvent.category == "marketing")
        .order_by(ConsentEvent.id.desc())
        .limit(1)
    )
    if latest is None or latest.action != "opt_in_requested" or contact.marketing_opt_in != "pending":
        return None
    return latest if now - latest.created_at <= OPT_IN_WINDOW else None


def confirm_marketing(
    session: Session, contact: Contact, *, raw_text: str, message_id: int | None, now: datetime | None = None
) -> ConsentEvent:
    """A YES to a pending request: written consent for marketing texts."""
    contact.marketing_opt_in = "confirmed"
    return record(
        session,
        contact,
        "opt_in",
        source="keyword",
        category="marketing",
        raw_text=raw_text,
        message_id=message_id,
        now=now,
    )
