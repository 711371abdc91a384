"""The period's cohort in one query: every session abandoned in it, with its follow-up and what
became of it (delivery, tap, reply, opt-out, where its thread is now).

One row per session, each outcome a per-row index probe, so the cost grows with the cohort and
not with the account's whole history of texts. The funnel and the per-step table both count
from these rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from analytics.periods import Period
from analytics.sql import CHUNK, one_of, without_jit
from bookings.models import BookingSession
from followups.models import Followup, TrackedLink
from inbox.models import ConsentEvent, Message, Thread


class CohortRow(NamedTuple):
    """One abandoned session; the follow-up fields are None for a session that never got one."""

    session_id: int
    followup_id: int | None = None
    variant: str | None = None
    mode: str | None = None
    status: str | None = None
    block_reason: str | None = None
    cancelled_by: str | None = None
    contact_id: int | None = None
    due_at: datetime | None = None
    message_status: str | None = None
    error_code: str | None = None
    clicked: bool = False
    replied: bool = False
    opted_out: bool = False
    thread_owner: str | None = None
    thread_open: bool = False
    last_direction: str | None = None


def cohort(account_id: int, period: Period) -> list[Any]:
    """The sessions a period follows: abandoned within it."""
    return [BookingSession.account_id == account_id, BookingSession.abandoned_at >= period.start,
            BookingSession.abandoned_at < period.end]


def cohort_rows(session: Session, account_id: int, period: Period) -> list[CohortRow]:
    """One row per session abandoned in the period. The sessions come from their index first, so
    the follow-up query probes by key and never scans the account's whole history."""
    without_jit(session)
    session_ids = list(session.scalars(select(BookingSession.id).where(*cohort(account_id, period))))
    sent = Followup.status == "sent"
    sent_message, reply, newest = aliased(Message), aliased(Message), aliased(Message)
    opt_out_text = exists().where(ConsentEvent.message_id == reply.id, ConsentEvent.action == "opt_out")
    replied = exists().where(reply.thread_id == Followup.thread_id, reply.direction == "inbound",
                             reply.created_at > Followup.sent_at, ~opt_out_text)
    # Link previews only raise preview_count; click_count counts people tapping.
    clicked = exists().where(TrackedLink.followup_id == Followup.id, TrackedLink.click_count > 0)
    message = (select(func.coalesce(sent_message.status, "") + "|" + func.coalesce(sent_message.error_code, ""))
               .where(sent_message.id == Followup.sent_message_id).scalar_subquery())
    # Where the thread is now; its newest text only for threads still with the agent or a rep.
    last_direction = (select(newest.direction).where(newest.thread_id == Thread.id)
                      .order_by(newest.id.desc()).limit(1).scalar_subquery())
    active = and_(Thread.status != "resolved", Thread.owner.in_(("agent", "csr")))
    thread = (select(Thread.owner + "|" + case((Thread.status != "resolved", "open"), else_="closed") + "|"
                     + func.coalesce(case((active, last_direction), else_=None), ""))
              .where(Thread.id == Followup.thread_id).scalar_subquery())
    rows: list[CohortRow] = []
    seen: set[int] = set()
    for chunk in range(0, len(session_ids), CHUNK):
        for (session_id, followup_id, variant, mode, status, block_reason, cancelled_by, contact_id, due_at, message_,
             is_clicked, is_replied, thread_) in session.connection().execute(  # Core rows: no ORM overhead
                select(Followup.session_id, Followup.id, Followup.variant, Followup.mode, Followup.status,
                       Followup.block_reason, Followup.cancelled_by, Followup.contact_id, Followup.due_at,
                       case((sent, message), else_=None), case((sent, clicked), else_=False),
                       case((sent, replied), else_=False), case((sent, thread), else_=None))
                .where(one_of(session, Followup.session_id, session_ids[chunk:chunk + CHUNK]))):
            message_status, _, error_code = (message_ or "").partition("|")
            owner, _, rest = (thread_ or "").partition("|")
            state, _, direction = rest.partition("|")
            seen.add(session_id)
            rows.append(CohortRow(session_id, followup_id, variant, mode, status, block_reason, cancelled_by,
                                  contact_id, due_at, message_status or None, error_code or None, bool(is_clicked),
                                  bool(is_replied), False, owner or None, state == "open", direction or None))
    rows += [CohortRow(sid) for sid in session_ids if sid not in seen]
    # Opt-outs are few: found from the ledger's side, then matched to this cohort's follow-ups.
    opted_out = set(session.scalars(
        select(Followup.id).join(ConsentEvent, and_(ConsentEvent.contact_id == Followup.contact_id,
                                                    ConsentEvent.created_at > Followup.sent_at))
        .where(ConsentEvent.account_id == account_id, ConsentEvent.action == "opt_out", sent)))
    return [r._replace(opted_out=True) if r.followup_id in opted_out else r for r in rows]
