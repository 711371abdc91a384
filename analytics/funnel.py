"""The funnel of a period, overall and per variant, for the booking sessions abandoned in it:

abandoned → scheduled → cancelled (by why) → blocked (by reason) → sent → delivered → failed (by
reason) → clicked (people; link previews are not clicks) → replied (people; an opt-out keyword is
not a reply) → opted out → booked (by agent / link / rep, by the attribution rule) → booking rate
(booked ÷ sent) and the median time from abandonment to booking.

A handful of grouped queries over the cohort, never a query per row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from analytics import labels
from analytics.attribution import Touch, touches
from analytics.periods import Period
from followups.models import BookingSession, Followup, TrackedLink
from inbox.models import ConsentEvent, Message

NO_VARIANT = "default"
CANCEL_KEYS = ("completed_on_their_own", "replied_first", "opted_out", "by_rep", "other")


@dataclass
class Tally:
    """One funnel's counts; people-steps are sets of contact ids so a total never counts a person twice."""

    abandoned: int = 0
    scheduled: int = 0
    cancelled: Counter[str] = field(default_factory=Counter)
    blocked: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    delivered: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    clicked: set[int] = field(default_factory=set)
    replied: set[int] = field(default_factory=set)
    opted_out: set[int] = field(default_factory=set)
    bookings: list[Touch] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.abandoned += other.abandoned
        self.scheduled += other.scheduled
        self.cancelled.update(other.cancelled)
        self.blocked.update(other.blocked)
        self.sent += other.sent
        self.delivered += other.delivered
        self.failed.update(other.failed)
        self.clicked |= other.clicked
        self.replied |= other.replied
        self.opted_out |= other.opted_out
        self.bookings += other.bookings

    def as_dict(self) -> dict[str, Any]:
        by = Counter(t.booked_by for t in self.bookings)
        booked = len(self.bookings)
        waits = [(t.booked_at - t.abandoned_at).total_seconds() for t in self.bookings if t.abandoned_at]
        return {
            "abandoned": self.abandoned,
            "scheduled": self.scheduled,
            "cancelled": {"total": sum(self.cancelled.values())} | {k: self.cancelled[k] for k in CANCEL_KEYS},
            "blocked": {"total": sum(self.blocked.values()), "reasons": [
                {"reason": code, "label": labels.block_label(code), "count": n}
                for code, n in sorted(self.blocked.items(), key=lambda kv: (-kv[1], kv[0]))]},
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": {"total": sum(self.failed.values()), "reasons": [
                {"reason": code, "label": labels.failure_label(code), "count": n}
                for code, n in sorted(self.failed.items(), key=lambda kv: (-kv[1], kv[0]))]},
            "clicked": len(self.clicked),
            "replied": len(self.replied),
            "opted_out": len(self.opted_out),
            "booked": {"total": booked, "agent": by["agent"], "link": by["link"], "rep": by["rep"]},
            "booking_rate": booked / self.sent if self.sent else None,
            "median_seconds_to_booking": median(waits) if waits else None,
        }


def cohort(account_id: int, period: Period) -> list[Any]:
    """The sessions a period's funnel follows: abandoned within it."""
    return [BookingSession.account_id == account_id, BookingSession.abandoned_at >= period.start,
            BookingSession.abandoned_at < period.end]


def tallies(session: Session, account_id: int, period: Period, window: int) -> dict[str | None, Tally]:
    """Per variant (None: sessions without a follow-up or follow-ups without a variant)."""
    in_cohort = cohort(account_id, period)
    per: dict[str | None, Tally] = defaultdict(Tally)
    base = select(Followup.variant).join(BookingSession, BookingSession.id == Followup.session_id).where(*in_cohort)

    per[None].abandoned = session.scalar(select(func.count()).select_from(BookingSession).where(
        *in_cohort, ~exists().where(Followup.session_id == BookingSession.id))) or 0
    for variant, status, reason, cancelled_by, count in session.execute(
            base.add_columns(Followup.status, Followup.block_reason, Followup.cancelled_by, func.count())
            .group_by(Followup.variant, Followup.status, Followup.block_reason, Followup.cancelled_by)):
        tally = per[variant]
        tally.abandoned += count  # one follow-up per session
        tally.scheduled += count
        if status == "cancelled":
            tally.cancelled[labels.cancel_group(cancelled_by)] += count
        elif status == "blocked":
            tally.blocked[reason or "unknown"] += count
        elif status == "failed":
            tally.failed["no_link"] += count
        elif status == "sent":
            tally.sent += count

    for variant, status, error_code, count in session.execute(
            base.add_columns(Message.status, Message.error_code, func.count())
            .join(Message, Message.id == Followup.sent_message_id).where(Followup.status == "sent")
            .group_by(Followup.variant, Message.status, Message.error_code)):
        if status == "delivered":
            per[variant].delivered += count
        elif status in ("failed", "undelivered"):
            per[variant].failed[labels.failure_code(status, error_code)] += count

    sent = base.add_columns(Followup.contact_id).where(Followup.status == "sent")
    clicked = sent.join(TrackedLink, TrackedLink.followup_id == Followup.id).where(TrackedLink.click_count > 0)
    opt_out_text = exists().where(ConsentEvent.message_id == Message.id, ConsentEvent.action == "opt_out")
    replied = sent.where(exists().where(
        Message.thread_id == Followup.thread_id, Message.direction == "inbound",
        Message.created_at > Followup.sent_at, ~opt_out_text))
    opted = sent.where(exists().where(
        ConsentEvent.contact_id == Followup.contact_id, ConsentEvent.action == "opt_out",
        ConsentEvent.created_at > Followup.sent_at))
    for query, attr in ((clicked, "clicked"), (replied, "replied"), (opted, "opted_out")):
        for variant, contact_id in session.execute(query.distinct()):
            getattr(per[variant], attr).add(contact_id)

    for touch in touches(session, account_id, window, session_where=in_cohort):
        per[touch.variant].bookings.append(touch)
    return per


def funnel(session: Session, account_id: int, period: Period, window: int) -> dict[str, Any]:
    """`{"total": …, "variants": {name: …}}`; follow-ups without a variant count in the total only."""
    per = tallies(session, account_id, period, window)
    total = Tally()
    for tally in per.values():
        total.add(tally)
    return {"total": total.as_dict(),
            "variants": {name: t.as_dict() for name, t in sorted(per.items(), key=lambda kv: kv[0] or "")
                         if name is not None}}
