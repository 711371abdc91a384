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


def daytime_zone(now: datetime | None = None) -> str:
    """A time zone where it is mid-day right now, for jobs that read the real clock."""
    from zoneinfo import ZoneInfo

    now = now or datetime.now(UTC)
    for zone in (
        "America/Los_Angeles",
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Pacific/Auckland",
        "Pacific/Honolulu",
    ):
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 19:
            return zone
    raise AssertionError("no zone in daytime")  # unreachable: the zones cover every hour


def nighttime_zone(now: datetime | None = None) -> str:
    """A time zone where it is the middle of the night right now."""
    from zoneinfo import ZoneInfo

    now = now or datetime.now(UTC)
    for zone in (
        "America/Los_Angeles",
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Pacific/Auckland",
        "Pacific/Honolulu",
    ):
        if 0 <= now.astimezone(ZoneInfo(zone)).hour < 6:
            return zone
    raise AssertionError("no zone at night")
