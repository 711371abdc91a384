"""What a sweep reads about its batch of follow-ups before deciding any of them: one statement per
kind of row for the whole batch, not a dozen per follow-up.

Everything read here lands in the session's identity map too, so the hooks that run while the texts
are composed (webhook events naming the contact and the booking session) find their rows without
another query. The contacts are read `FOR UPDATE`, in id order (PostgreSQL; SQLite has one writer),
so two sweeps cannot both pass one contact's per-contact limit and never deadlock on each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bookings.models import BookingSession
from followups.models import Followup, FollowupVariant
from inbox import pacing
from inbox.models import Account, Contact, Message, SendingNumber, Thread
from inbox.sending import LastInbound, last_inbound

Row = TypeVar("Row", Account, BookingSession, Thread)


@dataclass
class SweepFacts:
    followups: dict[int, Followup]
    bookings: dict[int, BookingSession]
    accounts: dict[int, Account]
    contacts: dict[int, Contact]
    threads: dict[int, Thread]
    # Per thread: (direction, sender, created_at) of the texts that can stop a follow-up.
    conversation: dict[int, list[tuple[str, str | None, datetime]]]
    last_inbound: dict[int, LastInbound]
    numbers: dict[int, list[SendingNumber]]  # per account: its numbers for the sweep's category
    # Per contact: (follow-up id, sent_at) of follow-ups already sent, this sweep's included.
    sent: dict[int, list[tuple[int, datetime]]] = field(default_factory=lambda: defaultdict(list))
    templates: dict[tuple[int, str], str | None] = field(default_factory=dict)  # (account, variant) → template

    def conversation_started(self, followup: Followup) -> str | None:
        """'inbound_reply' or 'csr_replied' if someone texted on the thread since the abandonment."""
        texts = [t for t in self.conversation.get(followup.thread_id or 0, []) if t[2] > followup.created_at]
        if any(direction == "inbound" for direction, _, _ in texts):
            return "inbound_reply"
        if any(direction == "outbound" and sender in ("csr", "agent") for direction, sender, _ in texts):
            return "csr_replied"
        return None

    def recently_sent(self, followup: Followup, hours: int, now: datetime) -> bool:
        """Whether another follow-up went to the same contact within `hours` (the per-contact limit)."""
        since = now - timedelta(hours=hours)
        return any(other != followup.id and at >= since for other, at in self.sent[followup.contact_id])


def _by_id(session: Session, model: type[Row], ids: Iterable[int | None]) -> dict[int, Row]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def load(session: Session, followup_ids: list[int], now: datetime, category: str) -> SweepFacts:
    """Read everything the batch's decisions need, in one statement per kind."""
    followups = {f.id: f for f in session.scalars(select(Followup).where(Followup.id.in_(followup_ids)))}
    rows = list(followups.values())
    contact_ids = sorted({f.contact_id for f in rows})
    thread_ids = {f.thread_id for f in rows if f.thread_id is not None}
    contacts = {c.id: c for c in session.scalars(
        select(Contact).where(Contact.id.in_(contact_ids)).order_by(Contact.id).with_for_update())} if rows else {}
    accounts = _by_id(session, Account, {f.account_id for f in rows})
    conversation: dict[int, list[tuple[str, str | None, datetime]]] = defaultdict(list)
    if thread_ids:
        since = min(f.created_at for f in rows)
        for thread_id, direction, sender, created_at in session.execute(
                select(Message.thread_id, Message.direction, Message.sender, Message.created_at).where(
                    Message.thread_id.in_(thread_ids), Message.created_at > since,
                    or_(Message.direction == "inbound", Message.sender.in_(("csr", "agent"))))):
            conversation[thread_id].append((direction, sender, created_at))
    numbers = {account_id: pacing.numbers_for(session, account_id, category) for account_id in accounts}
    facts = SweepFacts(
        followups=followups, bookings=_by_id(session, BookingSession, {f.session_id for f in rows}),
        accounts=accounts, contacts=contacts, threads=_by_id(session, Thread, thread_ids),
        conversation=conversation, last_inbound=last_inbound(session, contact_ids) if rows else {},
        numbers=numbers)
    if rows:
        longest = max((a.followup_per_contact_hours for a in accounts.values()), default=0)
        for contact_id, followup_id, sent_at in session.execute(
                select(Followup.contact_id, Followup.id, Followup.sent_at).where(
                    Followup.contact_id.in_(contact_ids), Followup.status == "sent",
                    Followup.sent_at >= now - timedelta(hours=longest))):
            if sent_at is not None:
                facts.sent[contact_id].append((followup_id, sent_at))
        variants: dict[Any, Any] = {(v.account_id, v.name): v.template for v in session.scalars(
            select(FollowupVariant).where(FollowupVariant.account_id.in_(accounts)))}
        facts.templates.update(variants)
    return facts
