"""Builders shared by the inbox tests: a contact with a thread, fixed instants in known zones."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from inbox.models import Contact, Thread

# 18:00 UTC = 10:00 in Los Angeles, 13:00 in New York: inside sending hours on both coasts.
MIDDAY = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def make_thread(
    session: Session, account_id: int, phone: str = "+14155550134", **contact_fields: object
) -> Thread:
    """A contact and an open thread for them."""
    contact = Contact(account_id=account_id, phone=phone, name="Dana Reyes", **contact_fields)
    session.add(contact)
    session.flush()
    thread = Thread(account_id=account_id, contact_id=contact.id)
    session.add(thread)
    session.flush()
    return thread


ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Tokyo",
         "Pacific/Auckland", "Pacific/Honolulu")


def _zone_where(first_hour: int, end_hour: int, now: datetime | None) -> str:
    from zoneinfo import ZoneInfo

    now = now or datetime.now(UTC)
    for zone in ZONES:
        if first_hour <= now.astimezone(ZoneInfo(zone)).hour < end_hour:
            return zone
    raise AssertionError(f"no zone between {first_hour}:00 and {end_hour}:00")  # the zones cover every hour


def daytime_zone(now: datetime | None = None) -> str:
    """A time zone where it is mid-day right now, for jobs that read the real clock."""
    return _zone_where(10, 19, now)


def nighttime_zone(now: datetime | None = None) -> str:
    """A time zone where it is the middle of the night right now."""
    return _zone_where(0, 6, now)
