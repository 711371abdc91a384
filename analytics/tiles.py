"""The live tiles: what is happening right now, "today" being the account's local day.

Computed on request (cheap, indexed counts); browsers re-fetch them when an event says something
moved, so no tile state is kept anywhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from analytics.periods import today_start
from bookings.models import Booking
from followups.models import Followup
from inbox.models import Event, Message, Thread


def escalated_waits(session: Session, account_id: int, now: datetime) -> list[float]:
    """Seconds each escalated, unresolved thread has waited for a rep: since the customer's first
    text after the last rep text. A thread whose customer has had a rep's answer is not waiting."""
    rep = aliased(Message)
    last_rep = (select(func.max(rep.created_at))
                .where(rep.thread_id == Message.thread_id, rep.direction == "outbound", rep.sender == "csr")
                .scalar_subquery())
    rows = session.execute(
        select(Message.thread_id, func.min(Message.created_at))
        .join(Thread, Thread.id == Message.thread_id)
        .where(Thread.account_id == account_id, Thread.escalated.is_(True), Thread.status != "resolved",
               Message.direction == "inbound", or_(last_rep.is_(None), Message.created_at > last_rep))
        .group_by(Message.thread_id))
    return sorted(((now - since).total_seconds() for _, since in rows), reverse=True)


def tiles(session: Session, account_id: int, timezone: str, now: datetime) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    midnight = today_start(now, zone)
    scheduled = [Followup.account_id == account_id, Followup.status == "scheduled"]
    waiting, due_soon = session.execute(select(
        func.count().filter(Followup.due_at > now),
        func.count().filter(Followup.due_at <= now + timedelta(hours=1)),
    ).where(*scheduled)).one()
    sent_today = session.scalar(select(func.count()).select_from(Followup).where(
        Followup.account_id == account_id, Followup.status == "sent", Followup.sent_at >= midnight,
        Followup.sent_at <= now))
    booked_today = session.scalar(select(func.count()).select_from(Booking).where(
        Booking.account_id == account_id, Booking.status == "booked", Booking.created_at >= midnight,
        Booking.created_at <= now))
    with_agent = session.scalar(select(func.count()).select_from(Thread).where(
        Thread.account_id == account_id, Thread.owner == "agent", Thread.status != "resolved"))
    waits = escalated_waits(session, account_id, now)
    return {
        "followups_waiting": waiting,
        "due_next_hour": due_soon,  # overdue ones included: they are being sent now
        "sent_today": sent_today,
        "booked_today": booked_today,
        "threads_with_agent": with_agent,
        "escalated_waiting": len(waits),
        "longest_wait_seconds": int(waits[0]) if waits else None,
        # Where a browser's live connection starts, so it only hears what happens after this answer.
        "last_event_id": session.scalar(select(func.max(Event.id)).where(Event.account_id == account_id)) or 0,
        "today": now.astimezone(zone).date().isoformat(),
        "timezone": timezone,
        "as_of": now.isoformat(),
    }
