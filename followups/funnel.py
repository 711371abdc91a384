"""The follow-up funnel: scheduled → sent → delivered → clicked → replied → booked (and the leaks:
blocked, failed, cancelled, opted out), per variant, with bookings attributed to what produced them.

Computed with a handful of grouped queries, never row by row, so it stays fast on large accounts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bookings.models import Booking
from followups.models import Followup, TrackedLink
from inbox.models import ConsentEvent, Message

STAGES = ("scheduled", "sent", "delivered", "clicked", "replied", "booked")


@dataclass
class Funnel:
    stages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    leaks: dict[str, int] = field(default_factory=lambda: {"blocked": 0, "cancelled": 0, "failed": 0,
                                                           "opted_out": 0})
    block_reasons: Counter[str] = field(default_factory=Counter)
    cancel_reasons: Counter[str] = field(default_factory=Counter)
    failure_reasons: Counter[str] = field(default_factory=Counter)
    bookings_by_source: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stages": self.stages,
            "leaks": self.leaks,
            "block_reasons": dict(self.block_reasons),
            "cancel_reasons": dict(self.cancel_reasons),
            "failure_reasons": dict(self.failure_reasons),
            "bookings_by_source": dict(self.bookings_by_source),
        }


def funnel(session: Session, account_id: int, since: datetime | None = None,
           until: datetime | None = None) -> dict[str, Any]:
    """The account's funnel in total and per variant, for follow-ups created in [since, until)."""
    conditions = [Followup.account_id == account_id]
    if since is not None:
        conditions.append(Followup.created_at >= since)
    if until is not None:
        conditions.append(Followup.created_at < until)
    where = and_(*conditions)
    per_variant: dict[str, Funnel] = defaultdict(Funnel)

    def variant(name: str | None) -> Funnel:
        return per_variant[name or "default"]

    for name, status, reason, cancelled_by, count in session.execute(
        select(Followup.variant, Followup.status, Followup.block_reason, Followup.cancelled_by, func.count())
        .where(where).group_by(Followup.variant, Followup.status, Followup.block_reason, Followup.cancelled_by)
    ):
        f = variant(name)
        f.stages["scheduled"] += count
        if status == "sent":
            f.stages["sent"] += count
        elif status in ("blocked", "cancelled", "failed"):
            f.leaks[status] += count
            if status == "blocked":
                f.block_reasons[reason or "unknown"] += count
            elif status == "cancelled":
                f.cancel_reasons[cancelled_by or "unknown"] += count
            else:
                f.failure_reasons[reason or "unknown"] += count

    for name, status, error_code, count in session.execute(
        select(Followup.variant, Message.status, Message.error_code, func.count())
        .join(Message, Message.id == Followup.sent_message_id)
        .where(where).group_by(Followup.variant, Message.status, Message.error_code)
    ):
        f = variant(name)
        if status == "delivered":
            f.stages["delivered"] += count
        elif status in ("failed", "undelivered"):
            f.failure_reasons[f"error {error_code}" if error_code else status] += count

    for name, count in session.execute(
        select(Followup.variant, func.count(func.distinct(Followup.id)))
        .join(TrackedLink, TrackedLink.followup_id == Followup.id)
        .where(where, TrackedLink.click_count > 0).group_by(Followup.variant)
    ):
        variant(name).stages["clicked"] += count

    for name, count in session.execute(
        select(Followup.variant, func.count(func.distinct(Followup.id)))
        .join(Message, and_(Message.thread_id == Followup.thread_id, Message.direction == "inbound",
                            Message.created_at > Followup.sent_at))
        .where(where, Followup.sent_at.is_not(None)).group_by(Followup.variant)
    ):
        variant(name).stages["replied"] += count

    for name, count in session.execute(
        select(Followup.variant, func.count(func.distinct(Followup.id)))
        .join(ConsentEvent, and_(ConsentEvent.contact_id == Followup.contact_id, ConsentEvent.action == "opt_out",
                                 ConsentEvent.created_at > Followup.sent_at))
        .where(where, Followup.sent_at.is_not(None)).group_by(Followup.variant)
    ):
        variant(name).leaks["opted_out"] += count

    for name, source, count in session.execute(
        select(Followup.variant, Booking.source, func.count(func.distinct(Followup.id)))
        .join(Booking, and_(Booking.followup_id == Followup.id, Booking.status == "booked"))
        .where(where).group_by(Followup.variant, Booking.source)
    ):
        f = variant(name)
        f.stages["booked"] += count
        f.bookings_by_source[source] += count

    total = Funnel()
    for f in per_variant.values():
        for key, value in f.stages.items():
            total.stages[key] += value
        for key, value in f.leaks.items():
            total.leaks[key] += value
        total.block_reasons.update(f.block_reasons)
        total.cancel_reasons.update(f.cancel_reasons)
        total.failure_reasons.update(f.failure_reasons)
        total.bookings_by_source.update(f.bookings_by_source)

    booking_filter = [Booking.account_id == account_id, Booking.status == "booked", Booking.followup_id.is_(None)]
    if since is not None:
        booking_filter.append(Booking.created_at >= since)
    if until is not None:
        booking_filter.append(Booking.created_at < until)
    unattributed = Counter({source: count for source, count in session.execute(
        select(Booking.source, func.count()).where(*booking_filter).group_by(Booking.source))})
    return {
        "total": total.as_dict(),
        "variants": {name: f.as_dict() for name, f in sorted(per_variant.items())},
        "bookings_without_followup": dict(unattributed),
    }
