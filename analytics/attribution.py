"""Attribution: every booking traced to the follow-up that last touched its contact.

The rule, as the dashboard states it: a booking is credited to the most recent follow-up sent to
the same contact at or before the booking, if that follow-up went out within the account's
attribution window (7 days unless the account set another). Through that follow-up the booking
has a session, a variant and a step. A booking with no such follow-up is "without a follow-up".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from analytics.models import DEFAULT_ATTRIBUTION_DAYS, MAX_ATTRIBUTION_DAYS, AnalyticsSettings
from analytics.sql import CHUNK, one_of, without_jit
from bookings.models import Booking, BookingSession
from core import hooks
from core.db import utcnow
from followups.models import Followup

# A scheduler booking after a follow-up went through the scheduler link that text carried.
BOOKED_BY = {"agent": "agent", "link": "link", "scheduler": "link", "csr": "rep"}
STEP_OF = {"link": "follow-up text", "agent": "agent conversation", "rep": "hand-off to a rep"}


@dataclass(frozen=True)
class Touch:
    """One booking and, when attributed, the follow-up, session and variant behind it."""

    booking_id: int
    booked_at: datetime
    source: str
    status: str
    contact_id: int
    job_type: str | None
    starts_at: datetime | None
    followup_id: int | None = None
    touched_at: datetime | None = None
    variant: str | None = None
    session_id: int | None = None
    session_ref: str | None = None
    abandoned_at: datetime | None = None

    @property
    def attributed(self) -> bool:
        return self.followup_id is not None

    @property
    def booked_by(self) -> str:
        return BOOKED_BY.get(self.source, self.source)

    @property
    def step(self) -> str | None:
        return STEP_OF.get(self.booked_by) if self.attributed else None


def window_days(session: Session, account_id: int) -> int:
    days = session.scalar(select(AnalyticsSettings.attribution_window_days)
                          .where(AnalyticsSettings.account_id == account_id))
    return DEFAULT_ATTRIBUTION_DAYS if days is None else days


def attribute_booking(session: Session, *, booking: Booking) -> None:
    """The `booking.created` reaction: the booking row names the follow-up this rule credits it to, so
    the bookings API, the webhooks and the dashboard tell the same story. A booking that already
    names its follow-up (a scheduler booking through that follow-up's link) keeps it."""
    if booking.followup_id is not None:
        return
    at = booking.created_at or utcnow()
    last = session.scalar(select(Followup).where(
        Followup.account_id == booking.account_id, Followup.contact_id == booking.contact_id,
        Followup.status == "sent", Followup.sent_at <= at,
        Followup.sent_at >= at - timedelta(days=window_days(session, booking.account_id)))
        .order_by(Followup.sent_at.desc(), Followup.id.desc()).limit(1))
    if last is not None:
        booking.followup_id, booking.variant, booking.session_id = last.id, last.variant, last.session_id


def register() -> None:
    hooks.register(hooks.BOOKING_CREATED, attribute_booking)


def set_window_days(session: Session, account_id: int, days: Any) -> int:
    """Store the account's window; ValueError naming the field for anything but 1..90 whole days."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        raise ValueError(f"attribution_window_days must be a whole number from 1 to {MAX_ATTRIBUTION_DAYS}")
    row = session.get(AnalyticsSettings, account_id)
    if row is None:
        session.add(AnalyticsSettings(account_id=account_id, attribution_window_days=days))
    else:
        row.attribution_window_days = days
    session.flush()
    return days


def made_between(start: datetime, end: datetime | None) -> list[Any]:
    """Bookings made in [start, end) (end None: up to now)."""
    return [Booking.created_at >= start, *([Booking.created_at < end] if end is not None else [])]


def touches(session: Session, account_id: int, window: int, *, booking_where: list[Any] | None = None,
            booked_only: bool = True) -> list[Touch]:
    """Bookings matching `booking_where`, each with its last touch if that is inside the window."""
    without_jit(session)
    other = aliased(Followup)
    # Per booking, one index probe for its last touch (ties on time: the later follow-up).
    last_touch = (select(other.id)
                  .where(other.contact_id == Booking.contact_id, other.account_id == account_id,
                         other.status == "sent", other.sent_at <= Booking.created_at)
                  .order_by(other.sent_at.desc(), other.id.desc()).limit(1).scalar_subquery())
    where = [Booking.account_id == account_id, *(booking_where or [])]
    if booked_only:
        where.append(Booking.status == "booked")
    booked = session.execute(select(Booking.id, Booking.created_at, Booking.source, Booking.status,
                                    Booking.contact_id, Booking.job_type, Booking.starts_at, last_touch)
                             .where(*where).order_by(Booking.id)).all()
    # The touches and their sessions by primary key: a join would make PostgreSQL hash every follow-up.
    wanted = sorted({row[7] for row in booked if row[7] is not None})
    followups: dict[int, tuple[Any, ...]] = {}
    sessions: dict[int, tuple[Any, ...]] = {}
    for chunk in range(0, len(wanted), CHUNK):
        for row in session.execute(select(Followup.id, Followup.sent_at, Followup.variant, Followup.session_id)
                                   .where(one_of(session, Followup.id, wanted[chunk:chunk + CHUNK]))):
            followups[row[0]] = tuple(row)
    session_ids = sorted({row[3] for row in followups.values()})
    for chunk in range(0, len(session_ids), CHUNK):
        for found_session in session.execute(
                select(BookingSession.id, BookingSession.external_id, BookingSession.abandoned_at)
                .where(one_of(session, BookingSession.id, session_ids[chunk:chunk + CHUNK]))):
            sessions[found_session[0]] = tuple(found_session)
    limit = timedelta(days=window)
    found: dict[int, Touch] = {}
    for booking_id, booked_at, source, status, contact_id, job_type, starts_at, followup_id in booked:
        touch = Touch(booking_id, booked_at, source, status, contact_id, job_type, starts_at)
        touched = followups.get(followup_id) if followup_id is not None else None
        origin = sessions.get(touched[3]) if touched is not None else None
        if touched is not None and origin is not None and booked_at - touched[1] <= limit:
            touch = Touch(booking_id, booked_at, source, status, contact_id, job_type, starts_at,
                          followup_id=touched[0], touched_at=touched[1], variant=touched[2], session_id=origin[0],
                          session_ref=origin[1], abandoned_at=origin[2])
        found[booking_id] = touch
    return list(found.values())
