"""The period's cohort in one query: every session abandoned in it, with its follow-up and what
became of it (delivery, tap, reply, opt-out, where its thread is now).

One row per session, each outcome a per-row index probe, so the cost grows with the cohort and
not with the account's whole history of texts. The funnel and the per-step table both count
from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, select, text
from sqlalchemy.orm import Session, aliased

from analytics.periods import Period
from followups.models import BookingSession, Followup, TrackedLink
from inbox.models import ConsentEvent, Message, Thread


@dataclass(frozen=True)
class CohortRow:
    """One abandoned session; the follow-up fields are None for a session that never got one."""

    session_id: int
    followup_id: int | None
    variant: str | None
    mode: str | None
    status: str | None
    block_reason: str | None
    cancelled_by: str | None
    contact_id: int | None
    due_at: datetime | None
    message_status: str | None
    error_code: str | None
    clicked: bool
    replied: bool
    opted_out: bool
    thread_owner: str | None
    thread_open: bool
    last_direction: str | None


def cohort(account_id: int, period: Period) -> list[Any]:
    """The sessions a period follows: abandoned within it."""
    return [BookingSession.account_id == account_id, BookingSession.abandoned_at >= period.start,
            BookingSession.abandoned_at < period.end]


def without_jit(session: Session) -> None:
    """PostgreSQL's JIT compiles these per-row probes for over a second to save milliseconds (its
    cost threshold counts every probe as if it scanned); turned off for this read-only transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def cohort_rows(session: Session, account_id: int, period: Period) -> list[CohortRow]:
    without_jit(session)
    sent = Followup.status == "sent"
    sent_message = aliased(Message)
    reply = aliased(Message)
    newest = aliased(Message)
    opt_out_text = exists().where(ConsentEvent.message_id == reply.id, ConsentEvent.action == "opt_out")
    replied = exists().where(reply.thread_id == Followup.thread_id, reply.direction == "inbound",
                             reply.created_at > Followup.sent_at, ~opt_out_text)
    # Link previews only raise preview_count; click_count counts people tapping.
    clicked = exists().where(TrackedLink.followup_id == Followup.id, TrackedLink.click_count > 0)
    active = and_(Thread.status != "resolved", Thread.owner.in_(("agent", "csr")))
    last_direction = (select(newest.direction).where(newest.thread_id == Thread.id)
                      .order_by(newest.id.desc()).limit(1).scalar_subquery())
    message = (select(func.coalesce(sent_message.status, "") + "|" + func.coalesce(sent_message.error_code, ""))
               .where(sent_message.id == Followup.sent_message_id).scalar_subquery())
    query = (select(BookingSession.id, Followup.id, Followup.variant, Followup.mode, Followup.status,
                    Followup.block_reason, Followup.cancelled_by, Followup.contact_id, Followup.due_at,
                    case((sent, message), else_=None),
                    case((sent, clicked), else_=False), case((sent, replied), else_=False),
                    Thread.owner, Thread.status != "resolved",
                    case((and_(sent, active), last_direction), else_=None))
             .select_from(BookingSession)
             .outerjoin(Followup, Followup.session_id == BookingSession.id)
             .outerjoin(Thread, and_(sent, Thread.id == Followup.thread_id))
             .where(*cohort(account_id, period)))
    # Opt-outs are few: found from the ledger's side rather than probed for every follow-up.
    opted_out = set(session.scalars(
        select(Followup.id).join(ConsentEvent, and_(ConsentEvent.contact_id == Followup.contact_id,
                                                    ConsentEvent.created_at > Followup.sent_at))
        .join(BookingSession, BookingSession.id == Followup.session_id)
        .where(ConsentEvent.account_id == account_id, ConsentEvent.action == "opt_out", sent,
               *cohort(account_id, period)).distinct()))
    rows = []
    for (session_id, followup_id, variant, mode, status, block_reason, cancelled_by, contact_id, due_at, message_,
         is_clicked, is_replied, owner, is_open, direction) in session.execute(query):
        message_status, _, error_code = (message_ or "").partition("|")
        rows.append(CohortRow(session_id, followup_id, variant, mode, status, block_reason, cancelled_by, contact_id,
                              due_at, message_status or None, error_code or None, bool(is_clicked),
                              bool(is_replied), followup_id in opted_out, owner, bool(is_open), direction))
    return rows
