"""The per-step table: for each step of the flow, how many contacts are scheduled for it, queued
at it, waiting in it, failed or completed it, and booked through it.

- follow-up text: every follow-up of the period. queued = due and on the queue now; waiting = not
  yet due; failed = blocked, failed or not delivered; completed = sent and not failed.
- agent conversation: follow-ups in agent mode. scheduled = not sent yet; queued = the customer's
  text awaits the agent; waiting = the agent awaits the customer; failed = blocked or failed
  before the conversation started, or not delivered; completed = the thread left the agent or
  was resolved.
- hand-off to a rep: sent follow-ups whose thread a rep now owns. queued = the customer's text
  awaits a rep; waiting = the rep awaits the customer; completed = resolved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.attribution import Touch
from analytics.cohort import CohortRow

STEPS = ("follow-up text", "agent conversation", "hand-off to a rep")
COLUMNS = ("scheduled", "queued", "waiting", "failed", "completed", "booked")
BOOKED_BY = {"follow-up text": "link", "agent conversation": "agent", "hand-off to a rep": "rep"}


def steps(rows: list[CohortRow], now: datetime, bookings: list[Touch]) -> list[dict[str, Any]]:
    """One row per step: distinct contacts per column, and the cohort's attributed bookings."""
    cells: dict[str, dict[str, set[int]]] = {step: {c: set() for c in COLUMNS} for step in STEPS}
    text, agent, rep = (cells[s] for s in STEPS)
    for row in rows:
        if row.followup_id is None or row.contact_id is None:
            continue
        who, agent_mode = row.contact_id, row.mode == "agent"
        text["scheduled"].add(who)
        if row.status == "scheduled":
            text["queued" if row.due_at is not None and row.due_at <= now else "waiting"].add(who)
            if agent_mode:
                agent["scheduled"].add(who)
        elif row.status in ("blocked", "failed") or row.message_status in ("failed", "undelivered"):
            text["failed"].add(who)
            if agent_mode:
                agent["failed"].add(who)
        elif row.status == "sent":
            text["completed"].add(who)
        if row.status != "sent":
            continue
        with_agent = row.thread_owner == "agent" and row.thread_open
        if agent_mode and not with_agent:
            agent["completed"].add(who)
        at = agent if row.thread_owner == "agent" else rep if row.thread_owner == "csr" else None
        if at is None:
            continue
        if row.thread_open:
            at["queued" if row.last_direction == "inbound" else "waiting"].add(who)
        elif at is rep:
            rep["completed"].add(who)
    booked = {step: sum(1 for t in bookings if t.booked_by == BOOKED_BY[step]) for step in STEPS}
    return [{"step": step, **{c: len(cells[step][c]) for c in COLUMNS}, "booked": booked[step]} for step in STEPS]
