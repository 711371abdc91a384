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

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from agent.models import Booking
from analytics.models import DEFAULT_ATTRIBUTION_DAYS, MAX_ATTRIBUTION_DAYS, AnalyticsSettings
from followups.models import BookingSession, Followup

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


def made_between(start: datetime, end: datetime) -> list[Any]:
    """Bookings made in [start, end)."""
    return [Booking.created_at >= start, Booking.created_at < end]


def touches(session: Session, account_id: int, window: int, *, booking_where: list[Any] | None = None,
            session_where: list[Any] | None = None, booked_only: bool = True) -> list[Touch]:
    """Bookings matching `booking_where`, each with its last touch inside the window.

    With `session_where` only bookings attributed to follow-ups of those sessions are returned.
    """
    followup, other = aliased(Followup), aliased(Followup)
    latest = (select(func.max(other.sent_at))
              .where(other.contact_id == Booking.contact_id, other.account_id == account_id,
                     other.status == "sent", other.sent_at <= Booking.created_at)
              .scalar_subquery())
    where = [Booking.account_id == account_id, *(booking_where or [])]
    if booked_only:
        where.append(Booking.status == "booked")
    join = and_(followup.contact_id == Booking.contact_id, followup.account_id == account_id,
                followup.status == "sent", followup.sent_at == latest)
    query = select(Booking.id, Booking.created_at, Booking.source, Booking.status, Booking.contact_id,
                   Booking.job_type, Booking.starts_at, followup.id, followup.sent_at, followup.variant,
                   BookingSession.id, BookingSession.external_id, BookingSession.abandoned_at).select_from(Booking)
    if session_where:
        query = (query.join(followup, join).join(BookingSession, BookingSession.id == followup.session_id)
                 .where(*session_where))
    else:
        query = (query.outerjoin(followup, join)
                 .outerjoin(BookingSession, BookingSession.id == followup.session_id))
    limit = timedelta(days=window)
    found: dict[int, Touch] = {}
    for row in session.execute(query.where(*where).order_by(Booking.id, followup.id)):
        (booking_id, booked_at, source, status, contact_id, job_type, starts_at,
         followup_id, sent_at, variant, session_id, session_ref, abandoned_at) = row
        touch = Touch(booking_id, booked_at, source, status, contact_id, job_type, starts_at)
        if followup_id is not None and booked_at - sent_at <= limit:
            touch = Touch(booking_id, booked_at, source, status, contact_id, job_type, starts_at, followup_id,
                          sent_at, variant, session_id, session_ref, abandoned_at)
        elif session_where:
            continue  # the last touch is too old: not this cohort's booking
        found[booking_id] = touch  # two follow-ups sent at the same instant: the later row (higher id) wins
    return list(found.values())
