"""The booking calendar: when a job can be booked, and booking it without double-booking.

The built-in calendar is the default backend. Another backend (a field-service system's API)
implements `BookingBackend`. Rules of the built-in one:

- a day is open when `Account.business_hours` has ranges for its weekday (`{"tue": [["08:00",
  "12:00"], ["13:00", "17:00"]]}`) and it is not a `BlackoutDate`; times are in the account's zone;
- slots start every `Account.slot_minutes` from each range's opening; a job fits when it ends by
  that range's closing;
- there are `Account.technicians` seats (one per technician); a booking holds its seat for the
  whole job, so a four-hour job also fills the seat in the next slot;
- a seat is taken by inserting `Booking(seat=n)`. On PostgreSQL a transaction-scoped advisory
  lock per account and day serialises bookings of that day, and the unique (account, starts_at,
  seat) index is the backstop: two concurrent bookings can never take the same last seat.

Every refusal is a `SlotUnavailable` whose message says what to do instead, because the agent
reads it back to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bookings.catalog import job_type_named
from bookings.models import BlackoutDate, Booking, JobType
from bookings.records import announce_changed, announce_created
from core.db import utcnow
from inbox.models import Account

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = {"morning": (0, 12 * 60), "afternoon": (12 * 60, 17 * 60), "evening": (17 * 60, 24 * 60),
                "any": (0, 24 * 60)}
MIN_LEAD = timedelta(hours=1)  # no booking a truck that cannot get there
MAX_AHEAD_DAYS = 60
MAX_RANGE_DAYS = 14


class SlotUnavailable(Exception):
    """A booking request the calendar refuses; the message tells the caller what to do instead."""


class SlotFull(SlotUnavailable):
    """A real slot whose every seat is taken (perhaps a moment ago, by a concurrent booking)."""


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime
    seats_left: int


class BookingBackend(Protocol):
    """What the agent (and CSRs) need from a calendar."""

    def find_slots(self, session: Session, account: Account, job_type: JobType, first_day: date, last_day: date,
                   part_of_day: str = "any", *, now: datetime | None = None, limit: int = 8) -> list[Slot]: ...

    def book(self, session: Session, account: Account, job_type: JobType, starts_at: datetime, *,
             contact_id: int, thread_id: int | None, source: str, followup_id: int | None = None,
             session_id: int | None = None, variant: str | None = None,
             now: datetime | None = None) -> Booking: ...

    def reschedule(self, session: Session, account: Account, booking: Booking, starts_at: datetime, *,
                   contact_id: int, now: datetime | None = None) -> Booking: ...

    def cancel(self, session: Session, account: Account, booking: Booking, *, contact_id: int) -> Booking: ...


def zone(account: Account) -> ZoneInfo:
    return ZoneInfo(account.timezone)


def hour_ranges(value: Any) -> list[Any]:
    """One weekday's stored ranges as a list of [open, close] (unchecked)."""
    # An account written before several ranges a day existed holds one flat [open, close].
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return [value]
    return value if isinstance(value, list) else []


def opening_ranges(account: Account, day: date) -> list[tuple[time, time]]:
    """The account's (open, close) ranges on `day`, earliest first; empty when it is closed that weekday."""
    found = []
    for hours in hour_ranges((account.business_hours or {}).get(WEEKDAYS[day.weekday()])):
        try:
            opens, closes = (time.fromisoformat(h) for h in hours)
        except (TypeError, ValueError):
            continue  # a range mistyped outside the API closes that range rather than break every booking
        if opens < closes:
            found.append((opens, closes))
    return sorted(found)


def describe_hours(account: Account) -> list[str]:
    """Human-readable hours, one line per weekday, for prompts."""
    lines = []
    for key in WEEKDAYS:
        ranges = [f"{r[0]}-{r[1]}" for r in hour_ranges((account.business_hours or {}).get(key))
                  if isinstance(r, list) and len(r) == 2]
        lines.append(f"{key.title()}: {', '.join(ranges)}" if ranges else f"{key.title()}: closed")
    return lines


def _blackouts(session: Session, account: Account, first: date, last: date) -> set[date]:
    rows = session.scalars(select(BlackoutDate.day).where(
        BlackoutDate.account_id == account.id, BlackoutDate.day >= first, BlackoutDate.day <= last))
    return set(rows)


def _busy(session: Session, account: Account, start: datetime, end: datetime,
          exclude_id: int | None = None) -> list[tuple[datetime, datetime, int]]:
    """(start, end, seat) of the account's live bookings overlapping [start, end)."""
    stmt = select(Booking.starts_at, Booking.ends_at, Booking.seat).where(
        Booking.account_id == account.id, Booking.status == "booked", Booking.seat.is_not(None),
        Booking.starts_at < end, Booking.ends_at > start)
    if exclude_id is not None:
        stmt = stmt.where(Booking.id != exclude_id)
    return [(s.astimezone(UTC), e.astimezone(UTC), seat) for s, e, seat in session.execute(stmt)
            if s is not None and e is not None and seat is not None]


def _seats_used(busy: list[tuple[datetime, datetime, int]], start: datetime, end: datetime) -> set[int]:
    return {seat for s, e, seat in busy if s < end and e > start}


def _slot_starts(account: Account, job_type: JobType, day: date) -> list[datetime]:
    """Every UTC start on `day` where a job of this type fits inside one range of business hours
    (slots start every `slot_minutes` from each range's opening)."""
    tz = zone(account)
    step = timedelta(minutes=max(account.slot_minutes, 15))
    length = timedelta(minutes=job_type.duration_minutes)
    starts: list[datetime] = []
    for opens_at, closes_at in opening_ranges(account, day):
        # Wall-clock arithmetic in the local zone, then to UTC: a DST change keeps 08:00 at 08:00.
        current, closes = datetime.combine(day, opens_at, tz), datetime.combine(day, closes_at, tz)
        while current + length <= closes:
            starts.append(current.astimezone(UTC))
            current += step
    return starts


class BuiltinCalendar:
    """The default backend: textdesk's own bookings table."""

    def find_slots(self, session: Session, account: Account, job_type: JobType, first_day: date, last_day: date,
                   part_of_day: str = "any", *, now: datetime | None = None, limit: int = 8) -> list[Slot]:
        """Open slots for `job_type` between two local days (inclusive), soonest first."""
        now = now or utcnow()
        if part_of_day not in PARTS_OF_DAY:
            raise SlotUnavailable(f"part_of_day must be one of {', '.join(PARTS_OF_DAY)}")
        if last_day < first_day:
            raise SlotUnavailable("date_to is before date_from; swap them")
        last_day = min(last_day, first_day + timedelta(days=MAX_RANGE_DAYS - 1))
        tz, lo, hi = zone(account), *PARTS_OF_DAY[part_of_day]
        closed = _blackouts(session, account, first_day, last_day)
        candidates: list[datetime] = []
        day = first_day
        while day <= last_day:
            if day not in closed:
                for start in _slot_starts(account, job_type, day):
                    local = start.astimezone(tz)
                    minute = local.hour * 60 + local.minute
                    if lo <= minute < hi and now + MIN_LEAD <= start <= now + timedelta(days=MAX_AHEAD_DAYS):
                        candidates.append(start)
            day += timedelta(days=1)
        length = timedelta(minutes=job_type.duration_minutes)
        busy = _busy(session, account, candidates[0], candidates[-1] + length) if candidates else []
        slots = []
        for start in candidates:
            left = account.technicians - len(_seats_used(busy, start, start + length))
            if left > 0:
                slots.append(Slot(start, start + length, left))
            if len(slots) >= limit:
                break
        return slots

    def check_slot(self, session: Session, account: Account, job_type: JobType, starts_at: datetime,
                   now: datetime | None = None) -> None:
        """Raise SlotUnavailable unless `starts_at` is a real slot start for this job type."""
        now = now or utcnow()
        if starts_at.tzinfo is None:
            raise SlotUnavailable("start needs a time zone offset; use a start exactly as find_slots returned it")
        start = starts_at.astimezone(UTC)
        if start < now + MIN_LEAD:
            raise SlotUnavailable("that time is in the past or less than an hour away; call find_slots for open times")
        if start > now + timedelta(days=MAX_AHEAD_DAYS):
            raise SlotUnavailable(f"we book at most {MAX_AHEAD_DAYS} days ahead; offer an earlier date")
        local_day = start.astimezone(zone(account)).date()
        if _blackouts(session, account, local_day, local_day):
            raise SlotUnavailable(f"we are closed on {local_day.isoformat()}; call find_slots for another day")
        if start not in _slot_starts(account, job_type, local_day):
            raise SlotUnavailable("that is not an available start time (outside business hours or not a slot "
                                  "start); call find_slots and offer one of the times it returns")

    def book(self, session: Session, account: Account, job_type: JobType, starts_at: datetime, *,
             contact_id: int, thread_id: int | None, source: str, followup_id: int | None = None,
             session_id: int | None = None, variant: str | None = None,
             now: datetime | None = None) -> Booking:
        """Take a free seat in the slot, in the caller's transaction (the caller commits)."""
        self.check_slot(session, account, job_type, starts_at, now)
        start = starts_at.astimezone(UTC)
        booking = Booking(account_id=account.id, contact_id=contact_id, thread_id=thread_id, followup_id=followup_id,
                          session_id=session_id, variant=variant, source=source, job_type=job_type.name,
                          status="booked")
        _take_seat(session, account, booking, start, start + timedelta(minutes=job_type.duration_minutes))
        return announce_created(session, booking)

    def reschedule(self, session: Session, account: Account, booking: Booking, starts_at: datetime, *,
                   contact_id: int, now: datetime | None = None) -> Booking:
        """Move the contact's own booking to another open slot; its old seat is released."""
        _own(account, booking, contact_id)
        job_type = job_type_named(session, account, booking.job_type or "")
        if job_type is None:
            raise SlotUnavailable("this booking's job type is no longer offered; hand off to a person")
        self.check_slot(session, account, job_type, starts_at, now)
        start = starts_at.astimezone(UTC)
        if booking.starts_at == start:
            return booking
        _take_seat(session, account, booking, start, start + timedelta(minutes=job_type.duration_minutes))
        return announce_changed(session, booking, "rescheduled")

    def cancel(self, session: Session, account: Account, booking: Booking, *, contact_id: int) -> Booking:
        """Cancel the contact's own booking and release its seat."""
        _own(account, booking, contact_id)
        booking.status = "cancelled"
        booking.seat = None
        return announce_changed(session, booking, "cancelled")


def _own(account: Account, booking: Booking, contact_id: int) -> None:
    if booking.account_id != account.id or booking.contact_id != contact_id or booking.status != "booked":
        raise SlotUnavailable("no such booking for this customer; use a booking_id from this customer's "
                              "upcoming bookings")


def _lock_day(session: Session, account: Account, start: datetime) -> None:
    """Serialise bookings of one account-day on PostgreSQL (released at commit or rollback)."""
    if session.get_bind().dialect.name == "postgresql":
        day = start.astimezone(zone(account)).date().toordinal()
        session.execute(text("SELECT pg_advisory_xact_lock(:account, :day)"), {"account": account.id, "day": day})


def _take_seat(session: Session, account: Account, booking: Booking, start: datetime, end: datetime) -> Booking:
    _lock_day(session, account, start)
    used = _seats_used(_busy(session, account, start, end, exclude_id=booking.id), start, end)
    nested = session.get_bind().dialect.name != "sqlite"
    for seat in range(account.technicians):
        if seat in used:
            continue
        booking.starts_at, booking.ends_at, booking.seat = start, end, seat
        if not nested:
            # SQLite runs one writer at a time, and pysqlite savepoints would commit early.
            session.add(booking)
            session.flush()
            return booking
        try:
            with session.begin_nested():
                session.add(booking)
                session.flush()
            return booking
        except IntegrityError:
            # The unique index caught a seat taken outside the day lock: try the next one.
            continue
    raise SlotFull("that slot is full; call find_slots and offer another time")


def get_backend(account: Account) -> BookingBackend:
    """The booking backend for an account (the built-in calendar until another is configured)."""
    return BuiltinCalendar()
