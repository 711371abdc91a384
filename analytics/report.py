"""Everything the dashboard shows for one account and period, assembled from the analytics parts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics import attribution, experiment, funnel, steps, tiles
from analytics.cohort import cohort, cohort_rows
from analytics.periods import Period
from bookings.models import BookingSession
from followups.models import Followup, FollowupVariant
from inbox.models import Account

FUNNEL_BARS = ("abandoned", "scheduled", "sent", "delivered", "clicked", "replied", "booked")


def variant_order(session: Session, account_id: int, seen: set[str]) -> list[str]:
    """The settings order (the first is the A/B baseline), then variants only history still has."""
    configured = list(session.scalars(select(FollowupVariant.name).where(FollowupVariant.account_id == account_id)
                                      .order_by(FollowupVariant.id)))
    return configured + sorted(seen - set(configured))


def experiment_for(session: Session, account_id: int, period: Period, window: int) -> dict[str, Any]:
    """The A/B answer (docs/api.md) for the follow-ups of the sessions abandoned in the period."""
    in_cohort = cohort(account_id, period)
    sent = dict(session.execute(
        select(Followup.variant, func.count()).join(BookingSession, BookingSession.id == Followup.session_id)
        .where(*in_cohort, Followup.status == "sent", Followup.variant.is_not(None)).group_by(Followup.variant)).all())
    booked: dict[str, int] = defaultdict(int)
    for touch in funnel.in_cohort(funnel.since_start(session, account_id, period, window), period):
        if touch.variant is not None:
            booked[touch.variant] += 1
    names = variant_order(session, account_id, {n for n in sent if n is not None} | set(booked))
    return experiment.experiment([experiment.Arm(n, sent.get(n, 0), booked.get(n, 0)) for n in names])


def bookings_per_day(period: Period, touches: list[attribution.Touch]) -> dict[str, dict[date, int]]:
    """Attributed bookings made in the period, per variant and local day."""
    series: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for touch in touches:
        if touch.attributed and period.start <= touch.booked_at < period.end:
            series[touch.variant or funnel.NO_VARIANT][period.local_day(touch.booked_at)] += 1
    return series


def funnel_and_steps(session: Session, account_id: int, period: Period, window: int, now: datetime,
                     made_since_start: list[attribution.Touch] | None = None) -> dict[str, Any]:
    """The funnel in total and per variant (settings order) and the per-step table, from one cohort."""
    rows = cohort_rows(session, account_id, period)
    bookings = made_since_start if made_since_start is not None else \
        funnel.since_start(session, account_id, period, window)
    per = funnel.tallies(session, account_id, period, window, rows=rows, bookings=bookings)
    total = funnel.Tally()
    for tally in per.values():
        total.add(tally)
    names = variant_order(session, account_id, {n for n in per if n is not None})
    return {"total": total, "variants": {n: per[n] for n in names},
            "steps": steps.steps(rows, now, total.bookings)}


def dashboard(session: Session, account: Account, period: Period, now: datetime) -> dict[str, Any]:
    window = attribution.window_days(session, account.id)
    # One attribution query serves both the cohort's bookings and the bookings made in the period.
    since_start = funnel.since_start(session, account.id, period, window)
    result = funnel_and_steps(session, account.id, period, window, now, since_start)
    made_in_period = [t for t in since_start if t.booked_at < period.end]
    per = result["variants"]
    # The same cohort as the funnel, so the A/B panel and the per-variant funnel always agree.
    arms = [experiment.Arm(n, t.sent, len(t.bookings)) for n, t in per.items()]
    series = bookings_per_day(period, made_in_period)
    return {
        "tiles": tiles.tiles(session, account.id, account.timezone, now),
        "funnel": {"total": result["total"].as_dict(), "variants": {n: t.as_dict() for n, t in per.items()}},
        "steps": result["steps"],
        "experiment": experiment.experiment(arms),
        "attribution_window_days": window,
        "without_followup": sum(1 for t in made_in_period if not t.attributed),
        "bookings_per_day": {n: series[n] for n in [*per, funnel.NO_VARIANT] if n in series},
    }
