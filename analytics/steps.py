"""The per-step table: for each step of the flow, how many contacts are scheduled for it, queued
at it, waiting in it, failed or completed it, and booked through it.

- follow-up text: every follow-up of the period. queued = due and on the queue now; waiting = not
  yet due; failed = blocked, failed or not delivered; completed = sent and not failed.
- agent conversation: follow-ups in agent mode. scheduled = not sent yet; queued = the customer's
  text awaits the agent; waiting = the agent awaits the customer; failed = blocked or failed
  before the conversation started; completed = the thread left the agent or was resolved.
- hand-off to a rep: sent follow-ups whose thread a rep now owns. queued = the customer's text
  awaits a rep; waiting = the rep awaits the customer; completed = resolved.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from analytics.attribution import Touch
from analytics.funnel import cohort
from analytics.periods import Period
from followups.models import BookingSession, Followup
from inbox.models import Message, Thread

STEPS = ("follow-up text", "agent conversation", "hand-off to a rep")
COLUMNS = ("scheduled", "queued", "waiting", "failed", "completed", "booked")
BOOKED_AT = {"follow-up text": "link", "agent conversation": "agent", "hand-off to a rep": "rep"}


def steps(session: Session, account_id: int, period: Period, now: datetime,
          bookings: list[Touch]) -> list[dict[str, Any]]:
    """One row per step, with the column counts (distinct contacts) and the attributed bookings."""
    table = {step: Counter({c: 0 for c in COLUMNS}) for step in STEPS}
    base = (select(Followup.mode, func.count(func.distinct(Followup.contact_id)))
            .join(BookingSession, BookingSession.id == Followup.session_id).where(*cohort(account_id, period)))
    text, agent, rep = (table[s] for s in STEPS)

    due = case((Followup.due_at <= now, 1), else_=0)
    for mode, status, is_due, count in session.execute(
            select(Followup.mode, Followup.status, due, func.count(func.distinct(Followup.contact_id)))
            .join(BookingSession, BookingSession.id == Followup.session_id).where(*cohort(account_id, period))
            .group_by(Followup.mode, Followup.status, due)):
        text["scheduled"] += count
        if status == "scheduled":
            text["queued" if is_due else "waiting"] += count
            if mode == "agent":
                agent["scheduled"] += count
        elif status in ("blocked", "failed"):
            text["failed"] += count
            if mode == "agent":
                agent["failed"] += count
        elif status == "sent":
            text["completed"] += count

    for mode, count in session.execute(
            base.join(Message, Message.id == Followup.sent_message_id)
            .where(Followup.status == "sent", Message.status.in_(("failed", "undelivered")))
            .group_by(Followup.mode)):
        text["failed"] += count
        text["completed"] -= count
        if mode == "agent":
            agent["failed"] += count

    last_direction = (select(Message.direction).where(Message.thread_id == Thread.id)
                      .order_by(Message.id.desc()).limit(1).scalar_subquery())
    is_open = Thread.status != "resolved"
    # The newest text only matters (and is only looked up) for threads still with the agent or a rep.
    active = is_open & Thread.owner.in_(("agent", "csr"))
    rows = (select(Followup.mode.label("mode"), Followup.contact_id.label("contact_id"), Thread.owner.label("owner"),
                   is_open.label("is_open"), case((active, last_direction), else_=None).label("direction"))
            .join(BookingSession, BookingSession.id == Followup.session_id)
            .join(Thread, Thread.id == Followup.thread_id)
            .where(*cohort(account_id, period), Followup.status == "sent")).subquery()
    for mode, owner, still_open, direction, count in session.execute(
            select(rows.c.mode, rows.c.owner, rows.c.is_open, rows.c.direction,
                   func.count(func.distinct(rows.c.contact_id)))
            .group_by(rows.c.mode, rows.c.owner, rows.c.is_open, rows.c.direction)):
        if mode == "agent" and not (owner == "agent" and still_open):
            agent["completed"] += count
        at_step = agent if owner == "agent" else rep if owner == "csr" else None
        if at_step is None:
            continue
        if still_open:
            at_step["queued" if direction == "inbound" else "waiting"] += count
        elif at_step is rep:
            rep["completed"] += count

    for touch in bookings:
        for step, by in BOOKED_AT.items():
            if touch.booked_by == by:
                table[step]["booked"] += 1
    return [{"step": step, **{c: table[step][c] for c in COLUMNS}} for step in STEPS]
