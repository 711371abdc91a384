"""The calendar in the JSON API: its setup (`GET`/`PUT /api/v1/calendar`, writes by admins), the
open slots (exactly what the agent is offered), and the iCalendar feed and its secret URL.

A field a person can fix is a 422 whose detail names it (`business_hours.mon[0]: ...`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy.orm import Session

from bookings import calendar_config, feed
from bookings.calendar import PARTS_OF_DAY, SlotUnavailable, zone
from bookings.catalog import default_job_type, job_type_named
from bookings.offer import offered_slots
from core.db import utcnow
from core.settings import get_settings
from inbox.models import Account
from web.auth import CurrentUser, admin_only
from web.errors import unprocessable


def _account(db: Session, user: CurrentUser) -> Account:
    return db.get_one(Account, user.account_id)


@get("/api/v1/calendar", sync_to_thread=True)
def read_calendar(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, Any]:
    """Business hours (several ranges a day), technicians, slot length, job types and blackout days."""
    return calendar_config.read(db, _account(db, request.user))


@put("/api/v1/calendar", guards=[admin_only], sync_to_thread=True)
def update_calendar(request: Request[CurrentUser, Any, Any], db: Session, data: Any) -> dict[str, Any]:
    """Admins replace any of the calendar's fields; what is left out keeps its value; 422 names a bad field."""
    try:
        result = calendar_config.update(db, _account(db, request.user), data)
    except calendar_config.CalendarInvalid as exc:
        db.rollback()
        raise unprocessable(str(exc)) from None
    db.commit()
    return result


def _date(value: str | None, name: str, default: date) -> date:
    if value is None or value == "":
        return default
    try:
        if len(value) == 10:  # fromisoformat alone would also take 20261201
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise unprocessable(f'{name}: "{value}" is not a date (use YYYY-MM-DD)')


@get("/api/v1/calendar/slots", sync_to_thread=True)
def slots(request: Request[CurrentUser, Any, Any], db: Session, job_type: str | None = None,
          from_: Annotated[str | None, Parameter(query="from")] = None,
          to: str | None = None, part_of_day: str = "any") -> list[dict[str, str]]:
    """`[{start, end, label}]` open for `job_type` (name or alias; default: the default job type)
    from `from` to `to` (local days, inclusive; default: today), as the agent's find_slots offers them."""
    account = _account(db, request.user)
    job = job_type_named(db, account, job_type) if job_type else default_job_type(db, account)
    if job is None:
        raise unprocessable(f'job_type: "{job_type}" is not an active job type or alias' if job_type
                            else "job_type: the account offers no job types")
    if part_of_day not in PARTS_OF_DAY:
        raise unprocessable(f"part_of_day: one of {', '.join(PARTS_OF_DAY)}")
    now = utcnow()
    first = _date(from_, "from", now.astimezone(zone(account)).date())
    last = _date(to, "to", first)
    if last < first:
        raise unprocessable("to: before from")
    try:
        return offered_slots(db, account, job, first, last, part_of_day, now=now)
    except SlotUnavailable as exc:
        raise unprocessable(f"from: {exc}") from None


def _feed_url(token: str) -> str:
    return get_settings().public_url.rstrip("/") + feed.feed_path(token)


@get("/api/v1/calendar/feed", guards=[admin_only], sync_to_thread=True)
def feed_url(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, str]:
    """`{url}`: the secret iCalendar feed of the account's bookings (made on first request)."""
    token = feed.feed_token(db, _account(db, request.user))
    db.commit()
    return {"url": _feed_url(token)}


@post("/api/v1/calendar/feed/rotate", guards=[admin_only], sync_to_thread=True, status_code=200)
def rotate_feed(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, str]:
    """A new secret feed URL; the old one stops working at once."""
    token = feed.feed_token(db, _account(db, request.user), rotate=True)
    db.commit()
    return {"url": _feed_url(token)}


@get("/feeds/{token:str}/bookings.ics", sync_to_thread=True, exclude_from_auth=True, include_in_schema=False)
def public_feed(db: Session, token: str) -> Response[bytes]:
    """The feed itself: calendar apps cannot log in, so the URL's secret token is the credential."""
    account = feed.account_for_token(db, token)
    if account is None:
        raise NotFoundException("no such feed (the link may have been replaced)")
    body = feed.render(db, account, get_settings().public_url)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})


ROUTES: list[Any] = [read_calendar, update_calendar, slots, feed_url, rotate_feed, public_feed]
