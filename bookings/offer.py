"""The open times offered for a job: one code path for the agent's `find_slots` tool and the
slots API, so a rep's picker shows exactly what the agent would offer."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bookings.calendar import MAX_RANGE_DAYS, PARTS_OF_DAY, SlotUnavailable, get_backend, zone
from bookings.models import JobType
from inbox.models import Account


def slot_label(account: Account, start: datetime) -> str:
    """A start as a person reads it, in the account's zone ("Tue Dec 1, 8:00 AM")."""
    return start.astimezone(zone(account)).strftime("%a %b %-d, %-I:%M %p")


def offered_slots(session: Session, account: Account, job: JobType, first: date, last: date,
                  part_of_day: str = "any", *, now: datetime) -> list[dict[str, str]]:
    """`[{start, end, label}]` (ISO 8601 with the account's offset), soonest first, for local days
    `first`..`last`; past days are skipped and the range is cut to MAX_RANGE_DAYS."""
    today = now.astimezone(zone(account)).date()
    if last < first:
        raise SlotUnavailable("date_to is before date_from; swap them")
    if last < today:
        raise SlotUnavailable(f"those dates are in the past; today is {today.isoformat()}")
    first = max(first, today)
    if (last - first).days >= MAX_RANGE_DAYS:
        last = first + timedelta(days=MAX_RANGE_DAYS - 1)
    if part_of_day not in PARTS_OF_DAY:
        raise SlotUnavailable(f"part_of_day must be one of {', '.join(PARTS_OF_DAY)}")
    tz = zone(account)
    slots = get_backend(account).find_slots(session, account, job, first, last, part_of_day, now=now)
    return [{"start": s.starts_at.astimezone(tz).isoformat(), "end": s.ends_at.astimezone(tz).isoformat(),
             "label": slot_label(account, s.starts_at)} for s in slots]
