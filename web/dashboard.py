"""The follow-up funnel and agent usage, as a page for owners and as JSON for tools."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, get
from litestar.exceptions import ValidationException
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.models import LlmCall
from core.db import utcnow
from followups.funnel import STAGES, funnel
from web.auth import CurrentUser
from web.pages import nav_context


def _parse_day(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if len(value) == 10 else \
            datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise ValidationException(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, got {value!r}") from None


def agent_usage(db: Session, account_id: int, since: datetime | None) -> dict[str, Any]:
    """LLM calls, tokens and latency for the account's agent."""
    where = [LlmCall.account_id == account_id]
    if since is not None:
        where.append(LlmCall.created_at >= since)
    calls, failed, prompt, completion = db.execute(
        select(func.count(), func.count().filter(LlmCall.ok.is_(False)),
               func.coalesce(func.sum(LlmCall.prompt_tokens), 0),
               func.coalesce(func.sum(LlmCall.completion_tokens), 0)).where(*where)
    ).one()
    latencies = sorted(db.scalars(select(LlmCall.latency_ms).where(*where, LlmCall.ok.is_(True))
                                  .order_by(LlmCall.id.desc()).limit(1000)))
    p50 = latencies[len(latencies) // 2] if latencies else None
    return {"calls": calls, "failed": failed, "prompt_tokens": prompt, "completion_tokens": completion,
            "latency_p50_ms": p50}


def _report(db: Session, user: CurrentUser, since: str | None, until: str | None) -> dict[str, Any]:
    start = _parse_day("since", since)
    end = _parse_day("until", until)
    if start and end and start >= end:
        raise ValidationException("since must be before until")
    report = funnel(db, user.account_id, start, end)
    report["agent"] = agent_usage(db, user.account_id, start)
    report["since"] = start.isoformat() if start else None
    report["until"] = end.isoformat() if end else None
    return report


@get("/api/v1/funnel", sync_to_thread=True)
def funnel_api(request: Request[CurrentUser, Any, Any], db: Session, since: str | None = None,
               until: str | None = None) -> dict[str, Any]:
    """The follow-up funnel: stages, leaks and their reasons, bookings by source, per variant."""
    return _report(db, request.user, since, until)


@get("/dashboard", sync_to_thread=True)
def dashboard(request: Request[CurrentUser, Any, Any], db: Session, days: int = 30) -> Template:
    """The funnel of the last `days` days."""
    days = min(max(days, 1), 365)
    since = (utcnow() - timedelta(days=days)).date().isoformat()
    report = _report(db, request.user, since, None)
    return Template("dashboard.html", context={**nav_context(request), "report": report, "stages": STAGES,
                                               "days": days})


ROUTES: list[Any] = [funnel_api, dashboard]
