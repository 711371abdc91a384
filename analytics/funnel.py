"""The funnel of a period, overall and per variant, for the booking sessions abandoned in it:

abandoned → scheduled → cancelled (by why) → blocked (by reason) → sent → delivered → failed (by
reason) → clicked (people; link previews are not clicks) → replied (people; an opt-out keyword is
not a reply) → opted out → booked (by agent / link / rep, by the attribution rule) → booking rate
(booked ÷ sent) and the median time from abandonment to booking.

Counted from the cohort's rows (analytics/cohort.py) and the attribution's bookings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from sqlalchemy.orm import Session

from analytics import labels
from analytics.attribution import Touch, made_between, touches
from analytics.cohort import CohortRow, cohort_rows
from analytics.periods import Period

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


def in_cohort(found: list[Touch], period: Period) -> list[Touch]:
    """The bookings credited to follow-ups of sessions abandoned in the period."""
    return [t for t in found if t.abandoned_at is not None and period.start <= t.abandoned_at < period.end]


def since_start(session: Session, account_id: int, period: Period, window: int) -> list[Touch]:
    """Every booking made since the period began: a superset of the cohort's (made after its texts)."""
    return touches(session, account_id, window, booking_where=made_between(period.start, None))


def tallies(session: Session, account_id: int, period: Period, window: int, *,
            rows: list[CohortRow] | None = None, bookings: list[Touch] | None = None) -> dict[str | None, Tally]:
    """Per variant (None: sessions without a follow-up or follow-ups without a variant)."""
    rows = cohort_rows(session, account_id, period) if rows is None else rows
    per: dict[str | None, Tally] = defaultdict(Tally)
    for row in rows:
        tally = per[row.variant]
        tally.abandoned += 1
        if row.followup_id is None:
            continue
        tally.scheduled += 1
        if row.status == "cancelled":
            tally.cancelled[labels.cancel_group(row.cancelled_by)] += 1
        elif row.status == "blocked":
            tally.blocked[row.block_reason or "unknown"] += 1
        elif row.status == "failed":
            tally.failed["no_link"] += 1
        elif row.status == "sent":
            tally.sent += 1
            if row.message_status == "delivered":
                tally.delivered += 1
            elif row.message_status in ("failed", "undelivered"):
                tally.failed[labels.failure_code(row.message_status, row.error_code)] += 1
            for attr in ("clicked", "replied", "opted_out"):
                if getattr(row, attr):
                    getattr(tally, attr).add(row.contact_id)
    if bookings is None:
        bookings = since_start(session, account_id, period, window)
    for touch in in_cohort(bookings, period):
        per[touch.variant].bookings.append(touch)
    return per
