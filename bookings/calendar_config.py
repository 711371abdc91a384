"""The calendar an admin sets up: business hours, technicians, slot length, job types, blackout days.

`read` gives the API's shape (README, "The calendar"); `check` validates a whole or partial
object and names the field of the first thing wrong (`business_hours.mon[0]: "25:00" is not a
time`); `update` checks everything before it writes anything, so a bad request changes nothing.
What a request leaves out keeps its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.calendar import WEEKDAYS, hour_ranges
from bookings.catalog import fold
from bookings.models import BlackoutDate, JobType
from inbox.accounts import validate_timezone
from inbox.models import Account

FIELDS = ("business_hours", "technicians", "slot_minutes", "job_types", "blackouts", "timezone")
_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
MAX_TECHNICIANS = 100
MAX_JOB_TYPES = 100
MAX_ALIASES = 20
MAX_BLACKOUTS = 500
NAME_MAX = 200


class CalendarInvalid(ValueError):
    """A calendar field an admin can fix; the message starts with the field's path."""


@dataclass
class _Checked:
    values: dict[str, Any] = field(default_factory=dict)


def read(session: Session, account: Account) -> dict[str, Any]:
    """The account's calendar in the API's shape (every job type, active or not)."""
    hours = account.business_hours or {}
    jobs = session.scalars(select(JobType).where(JobType.account_id == account.id)
                           .order_by(JobType.position, JobType.name))
    blackouts = session.scalars(select(BlackoutDate).where(BlackoutDate.account_id == account.id)
                                .order_by(BlackoutDate.day))
    return {
        "timezone": account.timezone,
        "business_hours": {day: [list(r) for r in hour_ranges(hours.get(day))] for day in WEEKDAYS},
        "technicians": account.technicians,
        "slot_minutes": account.slot_minutes,
        "job_types": [{"name": j.name, "duration_minutes": j.duration_minutes, "aliases": list(j.aliases or []),
                       "active": j.active} for j in jobs],
        "blackouts": [{"day": b.day.isoformat(), "reason": b.reason} for b in blackouts],
    }


def _fail(path: str, problem: str) -> CalendarInvalid:
    return CalendarInvalid(f"{path}: {problem}")


def _int(value: Any, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"{value!r} is not a whole number")
    if not low <= value <= high:
        raise _fail(path, f"must be from {low} to {high}")
    return value


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, "must be a non-empty string")
    if len(value.strip()) > NAME_MAX:
        raise _fail(path, f"is longer than {NAME_MAX} characters")
    return " ".join(value.split())


def _list(value: Any, path: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, "must be a list")
    if len(value) > limit:
        raise _fail(path, f"at most {limit} entries")
    return value


def _hours(value: Any, current: dict[str, Any]) -> dict[str, list[list[str]]]:
    if not isinstance(value, dict):
        raise _fail("business_hours", "must be an object with a list of [open, close] ranges per weekday")
    result = {day: [list(r) for r in hour_ranges(current.get(day))] for day in WEEKDAYS}
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise _fail(f"business_hours.{day}", f"not a weekday (use {', '.join(WEEKDAYS)})")
        checked: list[list[str]] = []
        for i, pair in enumerate(_list(ranges, f"business_hours.{day}", 12)):
            path = f"business_hours.{day}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise _fail(path, 'must be a pair ["HH:MM", "HH:MM"] (opens, closes)')
            for part in pair:
                if not isinstance(part, str) or not _TIME.match(part):
                    raise _fail(path, f"{_quote(part)} is not a time (use 24-hour HH:MM)")
            opens, closes = pair
            if opens >= closes:
                raise _fail(path, f"opens at {opens}, not before it closes at {closes}")
            for j, other in enumerate(checked):
                if opens < other[1] and other[0] < closes:
                    raise _fail(path, f"{opens}-{closes} overlaps business_hours.{day}[{j}] {other[0]}-{other[1]}")
            checked.append([opens, closes])
        result[day] = sorted(checked)
    return result


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _job_types(value: Any) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    taken: dict[str, str] = {}  # every folded name and alias -> the job type it names
    for i, raw in enumerate(_list(value, "job_types", MAX_JOB_TYPES)):
        path = f"job_types[{i}]"
        if not isinstance(raw, dict):
            raise _fail(path, "must be an object {name, duration_minutes, aliases, active}")
        unknown = sorted(set(raw) - {"name", "duration_minutes", "aliases", "active"})
        if unknown:
            raise _fail(f"{path}.{unknown[0]}", "unknown field")
        if "name" not in raw:
            raise _fail(f"{path}.name", "required")
        name = _name(raw["name"], f"{path}.name")
        duration = _int(raw.get("duration_minutes", 60), f"{path}.duration_minutes", 15, 24 * 60)
        active = raw.get("active", True)
        if not isinstance(active, bool):
            raise _fail(f"{path}.active", "must be true or false")
        aliases = [_name(a, f"{path}.aliases[{k}]")
                   for k, a in enumerate(_list(raw.get("aliases", []), f"{path}.aliases", MAX_ALIASES))]
        for label, text in [("name", name)] + [(f"aliases[{k}]", a) for k, a in enumerate(aliases)]:
            owner = taken.get(fold(text))
            if owner is not None:
                raise _fail(f"{path}.{label}", f'"{text}" already names "{owner}"')
            taken[fold(text)] = name
        jobs.append({"name": name, "duration_minutes": duration, "aliases": aliases, "active": active})
    if jobs and not any(j["active"] for j in jobs):
        raise _fail("job_types", "at least one job type must be active (or send an empty list for the default)")
    return jobs


def _blackouts(value: Any) -> list[tuple[date, str | None]]:
    days: dict[date, str | None] = {}
    for i, raw in enumerate(_list(value, "blackouts", MAX_BLACKOUTS)):
        path = f"blackouts[{i}]"
        if not isinstance(raw, dict) or "day" not in raw:
            raise _fail(path, 'must be an object {"day": "YYYY-MM-DD", "reason": "..."}')
        try:
            day = date.fromisoformat(raw["day"]) if isinstance(raw["day"], str) and len(raw["day"]) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise _fail(f"{path}.day", f"{_quote(raw['day'])} is not a date (use YYYY-MM-DD)")
        if day in days:
            raise _fail(f"{path}.day", f"{day.isoformat()} is listed twice")
        reason = raw.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise _fail(f"{path}.reason", "must be text or null")
        days[day] = _name(reason, f"{path}.reason") if reason and reason.strip() else None
    return sorted(days.items())


def check(account: Account, data: Any) -> dict[str, Any]:
    """The validated values of a (partial) calendar; raises CalendarInvalid naming the field."""
    if not isinstance(data, dict):
        raise CalendarInvalid("body: must be a JSON object with the calendar's fields")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise _fail(unknown[0], f"unknown field (the calendar has {', '.join(FIELDS)})")
    values: dict[str, Any] = {}
    if "timezone" in data:
        if not isinstance(data["timezone"], str):
            raise _fail("timezone", "must be an IANA time zone name")
        try:
            values["timezone"] = validate_timezone(data["timezone"])
        except ValueError as exc:
            raise _fail("timezone", str(exc)) from None
    if "business_hours" in data:
        values["business_hours"] = _hours(data["business_hours"], account.business_hours or {})
    if "technicians" in data:
        values["technicians"] = _int(data["technicians"], "technicians", 1, MAX_TECHNICIANS)
    if "slot_minutes" in data:
        values["slot_minutes"] = _int(data["slot_minutes"], "slot_minutes", 15, 8 * 60)
    if "job_types" in data:
        values["job_types"] = _job_types(data["job_types"])
    if "blackouts" in data:
        values["blackouts"] = _blackouts(data["blackouts"])
    return values


def update(session: Session, account: Account, data: Any) -> dict[str, Any]:
    """Check `data`, then write it in the caller's transaction (the caller commits); the new calendar."""
    values = check(account, data)
    for name in ("timezone", "business_hours", "technicians", "slot_minutes"):
        if name in values:
            setattr(account, name, values[name])
    if "job_types" in values:
        _write_job_types(session, account, values["job_types"])
    if "blackouts" in values:
        existing = {b.day: b for b in session.scalars(select(BlackoutDate).where(BlackoutDate.account_id == account.id))}
        wanted = dict(values["blackouts"])
        for day, row in existing.items():
            if day not in wanted:
                session.delete(row)
        for day, reason in wanted.items():
            if day in existing:
                existing[day].reason = reason
            else:
                session.add(BlackoutDate(account_id=account.id, day=day, reason=reason))
    session.flush()
    return read(session, account)


def _write_job_types(session: Session, account: Account, jobs: list[dict[str, Any]]) -> None:
    # Kept rows are matched by name (case ignored) and updated in place; bookings name their job type
    # as text, so a job type left out of the list is simply deleted.
    existing = {fold(j.name): j for j in session.scalars(select(JobType).where(JobType.account_id == account.id))}
    wanted = {fold(j["name"]) for j in jobs}
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
    session.flush()
    for position, job in enumerate(jobs):
        kept = existing.get(fold(job["name"]))
        if kept is None:
            kept = JobType(account_id=account.id)
            session.add(kept)
        kept.name, kept.duration_minutes, kept.aliases = job["name"], job["duration_minutes"], job["aliases"]
        kept.active, kept.position = job["active"], position
