"""The agent's prompts: Jinja2 templates in agent/prompts/, filled with the account and customer.

The customer's context (name, the abandoned booking session's job type and notes, earlier texts)
comes from the database; earlier texts go to the model as chat turns, never into the system prompt,
so a customer's words cannot pose as the business's instructions.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.calendar import describe_hours, zone
from bookings.catalog import fold, job_types, resolve_job_type
from bookings.models import Booking, BookingSession
from bookings.records import latest_booking_session
from inbox.models import Account, Contact, Message, Thread

HISTORY_LIMIT = 20


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), autoescape=False,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def latest_session(session: Session, thread: Thread) -> BookingSession | None:
    """The contact's most recent booking session from the scheduler widget (its job type and notes)."""
    return latest_booking_session(session, thread.account_id, thread.contact_id)


def requested_job(session: Session, account: Account, booking_session: BookingSession | None) -> str | None:
    """What the customer started booking, as the agent should read it: the matching job type
    (by name or alias), or the default job type to offer when their request matches none."""
    raw = " ".join((booking_session.job_type or "").split())[:200] if booking_session else ""
    if not raw:
        return None
    job, matched = resolve_job_type(session, account, raw)
    if matched and job is not None:
        return job.name if fold(job.name) == fold(raw) else f'{job.name} (they chose "{raw}")'
    offer = f"offer {job.name} instead" if job is not None else "hand off to a person"
    return f'"{raw}", which is not one of our job types: {offer}'


def _local(account: Account, when: datetime) -> str:
    return when.astimezone(zone(account)).strftime("%A %B %-d, %Y, %-I:%M %p")


def system_prompt(session: Session, account: Account, thread: Thread, contact: Contact, now: datetime) -> str:
    """The system message for a turn."""
    booking_session = latest_session(session, thread)
    bookings = session.scalars(select(Booking).where(
        Booking.account_id == account.id, Booking.contact_id == contact.id, Booking.status == "booked",
        Booking.starts_at > now).order_by(Booking.starts_at))
    return environment().get_template("system.j2").render(
        business=account.name, services=account.services, timezone=account.timezone,
        now_local=_local(account, now), hours=describe_hours(account), job_types=job_types(session, account),
        customer_name=(contact.name or "")[:100] or None,
        job_type=requested_job(session, account, booking_session),
        job_notes=" ".join((booking_session.job_notes or "").split())[:500] if booking_session else None,
        bookings=[{"id": b.id, "job_type": b.job_type, "label": _local(account, b.starts_at)}  # type: ignore[arg-type]
                  for b in bookings],
    ).strip()


def history(session: Session, thread: Thread, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The thread's latest texts as chat turns: the customer is `user`, the business `assistant`."""
    rows = list(session.scalars(select(Message).where(Message.thread_id == thread.id)
                                .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)))
    turns: list[dict[str, Any]] = []
    for message in reversed(rows):
        if message.direction == "inbound":
            turns.append({"role": "user", "content": message.body})
        elif message.status != "blocked":
            prefix = "(a team member wrote) " if message.sender == "csr" else ""
            turns.append({"role": "assistant", "content": prefix + message.body})
    return turns


def opening_text(session: Session, account: Account, thread: Thread, contact: Contact) -> str:
    """The agent's first text of a follow-up conversation."""
    booking_session = latest_session(session, thread)
    first_name = (contact.name or "").split(" ")[0] or None
    job = booking_session.job_type if booking_session and booking_session.job_type else None
    return environment().get_template("opening.j2").render(
        first_name=first_name, business=account.name, job_type=job.lower() if job else None).strip()
