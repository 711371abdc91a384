"""The agent's tools: their JSON-schema definitions and the server-side checks that run them.

The model's tool arguments are untrusted (a customer can talk a model into anything), so every
argument is parsed and validated here. The customer is always the thread's contact: no tool takes
a contact, phone number or price, and an argument the schema does not define is refused.
A refusal is a tool result `{"error": "..."}` that says what to do instead, never an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.calendar import MAX_RANGE_DAYS, PARTS_OF_DAY, SlotUnavailable, get_backend, zone
from bookings.catalog import job_type_named, job_types
from bookings.models import Booking
from bookings.offer import offered_slots
from bookings.offer import slot_label as _label
from inbox.models import Account, Contact, Thread

HANDOFF_REASONS = ("customer_request", "frustration", "out_of_scope", "pricing", "emergency", "loop", "other")
MAX_UPCOMING_BOOKINGS = 1  # more than one truck per customer is a CSR's call


@dataclass
class ToolContext:
    """Everything a tool may touch: the conversation's own account, thread and contact."""

    session: Session
    account: Account
    thread: Thread
    contact: Contact
    now: datetime
    booking_session_id: int | None = None  # the scheduler session the customer started, if any


@dataclass
class ToolOutcome:
    content: dict[str, Any]
    booking: Booking | None = None
    handoff: tuple[str, str] | None = None  # (reason, summary)
    accepted: bool = True

    def as_message(self) -> str:
        return json.dumps(self.content)


@dataclass
class _Args:
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)


def _schema(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required, "additionalProperties": False}}}


_START = {"type": "string", "description": "a slot start exactly as find_slots returned it (ISO 8601 with offset)"}


def definitions(session: Session, account: Account) -> list[dict[str, Any]]:
    """The tool list sent to the model, with this account's job types as an enum."""
    names = [j.name for j in job_types(session, account)]
    job: dict[str, Any] = {"type": "string", "description": "the kind of job"}
    if names:  # an empty enum is invalid JSON Schema; the server refuses unknown names anyway
        job["enum"] = names
    return [
        _schema("find_slots", "List open appointment start times for a job type between two dates.", {
            "job_type": job,
            "date_from": {"type": "string", "description": "first day, YYYY-MM-DD, in the business's time zone"},
            "date_to": {"type": "string", "description": f"last day, YYYY-MM-DD, at most {MAX_RANGE_DAYS} days on"},
            "part_of_day": {"type": "string", "enum": list(PARTS_OF_DAY)},
        }, ["job_type", "date_from", "date_to"]),
        _schema("book_slot", "Book this customer into an open slot after they agreed to it.",
                {"job_type": job, "start": _START}, ["job_type", "start"]),
        _schema("reschedule_booking", "Move this customer's own booking to another open slot.",
                {"booking_id": {"type": "integer"}, "start": _START}, ["booking_id", "start"]),
        _schema("cancel_booking", "Cancel this customer's own booking after they confirmed.",
                {"booking_id": {"type": "integer"}}, ["booking_id"]),
        _schema("hand_off", "Hand the conversation to a person on the team.", {
            "reason": {"type": "string", "enum": list(HANDOFF_REASONS)},
            "summary": {"type": "string", "description": "2-3 sentences for the team: who, what, what is left"},
        }, ["reason", "summary"]),
    ]


TOOL_NAMES = ("find_slots", "book_slot", "reschedule_booking", "cancel_booking", "hand_off")


def refuse(message: str) -> ToolOutcome:
    return ToolOutcome({"error": message}, accepted=False)


def _parse(raw: str | None, allowed: set[str], required: set[str]) -> _Args | ToolOutcome:
    try:
        values = json.loads(raw or "{}")
    except (json.JSONDecodeError, TypeError):
        return refuse("the arguments were not valid JSON; call the tool again with a JSON object")
    if not isinstance(values, dict):
        return refuse("the arguments must be a JSON object")
    unknown = sorted(set(values) - allowed)
    if unknown:
        return refuse(f"unknown argument(s) {', '.join(unknown)}: this tool only acts for the customer in this "
                      f"conversation and takes only {', '.join(sorted(allowed))}")
    missing = sorted(required - set(values))
    if missing:
        return refuse(f"missing argument(s): {', '.join(missing)}")
    return _Args(values)


def _text(value: Any, name: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SlotUnavailable(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise SlotUnavailable(f"{name} is too long (at most {limit} characters)")
    return value.strip()


def _day(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(_text(value, name, 10))
    except ValueError:
        raise SlotUnavailable(f"{name} must be a date like 2026-03-14") from None


def _start(ctx: ToolContext, value: Any) -> datetime:
    try:
        start = datetime.fromisoformat(_text(value, "start", 40))
    except ValueError:
        raise SlotUnavailable("start must be a slot start exactly as find_slots returned it") from None
    # A start without an offset is read in the business's zone, where the customer talks.
    return start if start.tzinfo else start.replace(tzinfo=zone(ctx.account))


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SlotUnavailable(f"{name} must be a whole number")
    return value


def slot_label(ctx: ToolContext, start: datetime) -> str:
    return _label(ctx.account, start)


def upcoming_bookings(ctx: ToolContext) -> list[Booking]:
    """The contact's own booked jobs that have not started yet."""
    return list(ctx.session.scalars(select(Booking).where(
        Booking.account_id == ctx.account.id, Booking.contact_id == ctx.contact.id, Booking.status == "booked",
        Booking.starts_at > ctx.now).order_by(Booking.starts_at)))


def _job(ctx: ToolContext, value: Any) -> Any:
    job = job_type_named(ctx.session, ctx.account, _text(value, "job_type"))
    if job is None:
        names = ", ".join(j.name for j in job_types(ctx.session, ctx.account))
        raise SlotUnavailable(f"unknown job_type; use one of: {names}")
    return job


def _own_booking(ctx: ToolContext, value: Any) -> Booking:
    booking_id = _int(value, "booking_id")
    booking = ctx.session.get(Booking, booking_id)
    if booking is None or booking.account_id != ctx.account.id or booking.contact_id != ctx.contact.id \
            or booking.status != "booked":
        # Same answer for "not yours" and "does not exist": never confirm other customers' bookings.
        raise SlotUnavailable("no such booking for this customer; use a booking_id from the customer's "
                              "upcoming bookings")
    if booking.starts_at is None or booking.starts_at <= ctx.now:
        raise SlotUnavailable("that visit has already started or passed; hand off so a person can help")
    return booking


def find_slots(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    job = _job(ctx, args["job_type"])
    first, last = _day(args["date_from"], "date_from"), _day(args["date_to"], "date_to")
    found = offered_slots(ctx.session, ctx.account, job, first, last, args.get("part_of_day", "any"), now=ctx.now)
    note = "offer two or three of these" if found else "nothing open in that range; try later dates or another part of day"
    return ToolOutcome({"job_type": job.name, "slots": found, "note": note})


def book_slot(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    job = _job(ctx, args["job_type"])
    start = _start(ctx, args["start"])
    existing = upcoming_bookings(ctx)
    if len(existing) >= MAX_UPCOMING_BOOKINGS:
        b = existing[0]
        raise SlotUnavailable(f"this customer already has booking {b.id} on {slot_label(ctx, b.starts_at)}; "  # type: ignore[arg-type]
                              "use reschedule_booking to move it, or hand off if they need a second visit")
    booking = get_backend(ctx.account).book(
        ctx.session, ctx.account, job, start, contact_id=ctx.contact.id, thread_id=ctx.thread.id, source="agent",
        session_id=ctx.booking_session_id, now=ctx.now)
    return ToolOutcome({"booked": True, "booking_id": booking.id, "job_type": job.name,
                        "start": booking.starts_at.astimezone(zone(ctx.account)).isoformat(),  # type: ignore[union-attr]
                        "label": slot_label(ctx, booking.starts_at)}, booking=booking)  # type: ignore[arg-type]


def reschedule_booking(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    booking = _own_booking(ctx, args["booking_id"])
    start = _start(ctx, args["start"])
    get_backend(ctx.account).reschedule(ctx.session, ctx.account, booking, start, contact_id=ctx.contact.id,
                                        now=ctx.now)
    return ToolOutcome({"rescheduled": True, "booking_id": booking.id,
                        "label": slot_label(ctx, booking.starts_at)}, booking=booking)  # type: ignore[arg-type]


def cancel_booking(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    booking = _own_booking(ctx, args["booking_id"])
    get_backend(ctx.account).cancel(ctx.session, ctx.account, booking, contact_id=ctx.contact.id)
    return ToolOutcome({"cancelled": True, "booking_id": booking.id}, booking=booking)


def hand_off(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    reason = args["reason"] if args["reason"] in HANDOFF_REASONS else "other"
    summary = _text(args["summary"], "summary", 1000)
    return ToolOutcome({"handed_off": True}, handoff=(reason, summary))


_TOOLS = {
    "find_slots": (find_slots, {"job_type", "date_from", "date_to", "part_of_day"}, {"job_type", "date_from", "date_to"}),
    "book_slot": (book_slot, {"job_type", "start"}, {"job_type", "start"}),
    "reschedule_booking": (reschedule_booking, {"booking_id", "start"}, {"booking_id", "start"}),
    "cancel_booking": (cancel_booking, {"booking_id"}, {"booking_id"}),
    "hand_off": (hand_off, {"reason", "summary"}, {"reason", "summary"}),
}


def execute(ctx: ToolContext, name: str, raw_arguments: str | None) -> ToolOutcome:
    """Run one tool call from the model; any bad name or argument becomes a refusal the model can act on."""
    entry = _TOOLS.get(name)
    if entry is None:
        return refuse(f"there is no tool named {name!r}; use one of {', '.join(TOOL_NAMES)}")
    func, allowed, required = entry
    parsed = _parse(raw_arguments, allowed, required)
    if isinstance(parsed, ToolOutcome):
        return parsed
    try:
        return func(ctx, parsed.values)
    except SlotUnavailable as exc:
        return refuse(str(exc))
