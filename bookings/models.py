"""What gets booked and what asked for it: job types, blackout days, bookings, and the booking
sessions scheduler widgets report. The agent, follow-ups, reps and the API all use these tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, object_session

from core.db import Base, UTCDateTime, utcnow


class JobType(Base):
    __tablename__ = "job_types"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=120)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Other names a scheduler widget or a customer uses for it ("water heater", "no hot water").
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # The admin's order; the first active job type is the default for an unmatched request.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class BlackoutDate(Base):
    __tablename__ = "blackout_dates"
    __table_args__ = (UniqueConstraint("account_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))


class Booking(Base):
    """A booked job and what produced it.

    `seat` numbers the technician capacity of a slot (0 .. capacity-1); the unique constraint on
    (account, slot start, seat) is what makes two concurrent bookings unable to take the same last
    place. A cancelled booking releases its seat by setting it to NULL.
    """

    __tablename__ = "bookings"
    __table_args__ = (UniqueConstraint("account_id", "starts_at", "seat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("booking_sessions.id", ondelete="SET NULL"))
    variant: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(12))  # agent, link, csr, scheduler
    job_type: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seat: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked, cancelled
    external_job_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BookingSession(Base):
    __tablename__ = "booking_sessions"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(Text)
    job_type: Mapped[str | None] = mapped_column(String(200))
    job_notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="abandoned")  # abandoned, completed
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def session_ref(row: Any) -> str | None:
    """The scheduler's own session id (`BookingSession.external_id`) of a booking or follow-up row."""
    db = object_session(row)
    if row.session_id is None or db is None:
        return None
    found = db.get(BookingSession, row.session_id)
    return found.external_id if found else None
