"""/dashboard: live tiles, the funnel, the per-step table, attribution and the A/B panel, with
server-rendered SVG charts. The JSON and CSV routes it links to live in web/dashboard_api.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.orm import Session

from analytics import charts, report
from analytics.steps import COLUMNS
from analytics.usage import agent_usage
from core.db import utcnow
from inbox.accounts import ValidationError
from web import dashboard_api
from web.auth import CurrentUser
from web.pages import nav_context

QUICK_DAYS = (7, 30, 90)


@get("/dashboard", sync_to_thread=True)
def dashboard(request: Request[CurrentUser, Any, Any], db: Session, days: int | None = None,
              since: str | None = None, until: str | None = None) -> Template:
    """The period's numbers (the last 30 local days unless since/until or days say otherwise)."""
    if days is not None and not 1 <= days <= 366:
        raise ValidationError("days must be from 1 to 366")
    account, period = dashboard_api.account_period(db, request.user, since, until, days or 30)
    data = report.dashboard(db, account, period, utcnow())
    total = data["funnel"]["total"]
    bars = [(name, total[name]["total"] if isinstance(total[name], dict) else total[name])
            for name in report.FUNNEL_BARS]
    query = f"since={period.start.astimezone(period.zone).date()}&until={period.days()[-1]}"
    return Template("dashboard.html", context={
        **nav_context(request), **data, "period": period, "account": account, "days": days,
        "quick_days": QUICK_DAYS, "columns": COLUMNS, "export_query": query,
        "funnel_chart": charts.funnel_bars(bars),
        "bookings_chart": charts.daily_lines(period.days(), data["bookings_per_day"]),
        "agent": agent_usage(db, account.id, period.start, period.end),
    })


ROUTES: list[Any] = [dashboard, *dashboard_api.ROUTES]
