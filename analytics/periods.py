"""Periods in the account's own calendar: `since`/`until` as a local day or an ISO 8601 time,
"today" starting at the account's local midnight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodError(ValueError):
    """A since/until the caller must fix; the message names the parameter."""


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and the zone whose calendar days the page and the charts use."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    def days(self) -> list[date]:
        """Every local day the period touches, in order."""
        first = self.start.astimezone(self.zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (a DST change moves it, never the day)."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def today_start(now: datetime, zone: ZoneInfo) -> datetime:
    return local_midnight(now.astimezone(zone).date(), zone)


def _parse(name: str, value: str, zone: ZoneInfo, *, end: bool) -> datetime:
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise PeriodError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, got {value!r}") from None
        # A day is the account's local day; `until` includes the whole of it.
        return local_midnight(day + timedelta(days=1) if end else day, zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise PeriodError(f"{name} must carry a UTC offset (e.g. 2026-11-23T08:00:00-08:00), got {value!r}")
    return moment.astimezone(UTC)


def parse_period(since: str | None, until: str | None, timezone: str, now: datetime,
                 default_days: int = DEFAULT_DAYS) -> Period:
    """The period the caller asked for; without `since`, the last `default_days` local days up to now."""
    zone = ZoneInfo(timezone)
    end = _parse("until", until, zone, end=True) if until else now
    start = _parse("since", since, zone, end=False) if since else \
        local_midnight(end.astimezone(zone).date() - timedelta(days=default_days - 1), zone)
    if start >= end:
        raise PeriodError("since must be before until")
    if end - start > timedelta(days=MAX_DAYS):
        raise PeriodError(f"the period may span at most {MAX_DAYS} days")
    return Period(start, end, zone)
