"""Analytics in the JSON API: the funnel, live tiles, the A/B experiment, CSV exports and the
attribution window. Every answer is the caller's account only."""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar import Request, Response, get, put
from sqlalchemy.orm import Session

from analytics import attribution, export, funnel, report, tiles
from analytics.periods import Period, PeriodError, parse_period
from analytics.usage import agent_usage
from core.db import utcnow
from inbox.accounts import ValidationError
from inbox.models import Account
from web.auth import CurrentUser, admin_only


def account_period(db: Session, user: CurrentUser, since: str | None, until: str | None,
                   default_days: int = 30) -> tuple[Account, Period]:
    """The caller's account and the period asked for (a 400 naming the parameter if it is bad)."""
    account = db.get_one(Account, user.account_id)
    try:
        return account, parse_period(since, until, account.timezone, utcnow(), default_days)
    except PeriodError as exc:
        raise ValidationError(str(exc)) from None


def _csv(body: str, name: str) -> Response[str]:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@get("/api/v1/funnel", sync_to_thread=True)
def funnel_api(request: Request[CurrentUser, Any, Any], db: Session, since: str | None = None,
               until: str | None = None) -> dict[str, Any]:
    """The funnel of the sessions abandoned in the period, in total and per variant, with the
    per-step table, the bookings made in the period without a follow-up (by source) and the agent's usage."""
    account, period = account_period(db, request.user, since, until)
    window = attribution.window_days(db, account.id)
    since_start = funnel.since_start(db, account.id, period, window)
    result = report.funnel_and_steps(db, account.id, period, window, utcnow(), since_start)
    unattributed = Counter(t.source for t in since_start if t.booked_at < period.end and not t.attributed)
    return {"total": result["total"].as_dict(),
            "variants": {name: tally.as_dict() for name, tally in result["variants"].items()},
            "steps": result["steps"], "bookings_without_followup": dict(sorted(unattributed.items())),
            "agent": agent_usage(db, account.id, period.start, period.end),
            "attribution_window_days": window, "since": period.start.isoformat(), "until": period.end.isoformat()}


@get("/api/v1/analytics/tiles", sync_to_thread=True)
def tiles_api(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, Any]:
    """The live tiles, "today" in the account's time zone."""
    account = db.get_one(Account, request.user.account_id)
    return tiles.tiles(db, account.id, account.timezone, utcnow())


@get("/api/v1/analytics/experiment", sync_to_thread=True)
def experiment_api(request: Request[CurrentUser, Any, Any], db: Session, since: str | None = None,
                   until: str | None = None) -> dict[str, Any]:
    """Each variant's sent, booked and rate; each against the baseline with the 95% interval of the
    difference (Newcombe), the pooled z-test p-value and the sends needed for 80% power."""
    account, period = account_period(db, request.user, since, until)
    window = attribution.window_days(db, account.id)
    return report.experiment_for(db, account.id, period, window) | {
        "since": period.start.isoformat(), "until": period.end.isoformat()}


@get("/api/v1/analytics/funnel.csv", sync_to_thread=True)
def funnel_csv(request: Request[CurrentUser, Any, Any], db: Session, since: str | None = None,
               until: str | None = None) -> Response[str]:
    """The funnel as CSV: scope, step, detail, value."""
    account, period = account_period(db, request.user, since, until)
    result = report.funnel_and_steps(db, account.id, period, attribution.window_days(db, account.id), utcnow())
    return _csv(export.funnel_csv({"total": result["total"].as_dict(), "variants": {
        name: tally.as_dict() for name, tally in result["variants"].items()}}), "funnel.csv")


@get("/api/v1/bookings.csv", sync_to_thread=True)
def bookings_csv(request: Request[CurrentUser, Any, Any], db: Session, since: str | None = None,
                 until: str | None = None) -> Response[str]:
    """Bookings made in the period (cancelled ones too), each with its attribution."""
    account, period = account_period(db, request.user, since, until)
    found = attribution.touches(db, account.id, attribution.window_days(db, account.id), booked_only=False,
                                booking_where=attribution.made_between(period.start, period.end))
    return _csv(export.bookings_csv(found, account.timezone), "bookings.csv")


@get("/api/v1/analytics/settings", sync_to_thread=True)
def read_analytics_settings(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, Any]:
    """The attribution window in days."""
    return {"attribution_window_days": attribution.window_days(db, request.user.account_id)}


@put("/api/v1/analytics/settings", guards=[admin_only], sync_to_thread=True)
def update_analytics_settings(request: Request[CurrentUser, Any, Any], db: Session,
                              data: dict[str, Any]) -> dict[str, Any]:
    """Admins set the attribution window (1 to 90 days)."""
    unknown = sorted(set(data) - {"attribution_window_days"})
    if unknown:
        raise ValidationError(f"{unknown[0]} is not an analytics setting")
    try:
        days = attribution.set_window_days(db, request.user.account_id, data.get("attribution_window_days"))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    db.commit()
    return {"attribution_window_days": days}


ROUTES: list[Any] = [funnel_api, tiles_api, experiment_api, funnel_csv, bookings_csv, read_analytics_settings,
                     update_analytics_settings]
