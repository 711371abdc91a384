"""Server-side validation of every tool argument, run directly against the tool layer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from agent.tools import ToolContext, execute
from bookings.models import Booking
from core.db import utcnow
from tests.agent.conftest import LA, Shop, local, next_weekday


def _ctx(session: Session, shop: Shop) -> ToolContext:
    return ToolContext(session, shop.account, shop.thread, shop.contact, utcnow())


@pytest.mark.parametrize("name, raw, error", [
    ("book_slot", "[1, 2]", "must be a JSON object"),
    ("book_slot", '{"job_type": "Drain cleaning"}', "missing argument(s): start"),
    ("book_slot", '{"job_type": "Drain cleaning", "start": "next tuesday-ish"}', "exactly as find_slots returned"),
    ("book_slot", '{"job_type": "", "start": "2026-01-01T10:00"}', "job_type must be a non-empty string"),
    ("cancel_booking", '{"booking_id": true}', "booking_id must be a whole number"),
    ("cancel_booking", '{"booking_id": 999999}', "no such booking"),
    ("find_slots", '{"job_type": "Drain cleaning", "date_from": "tomorrow", "date_to": "2026-01-01"}',
     "date_from must be a date"),
    ("find_slots", '{"job_type": "Drain cleaning", "date_from": "2020-01-01", "date_to": "2020-01-02"}',
     "in the past"),
    ("find_slots", '{"job_type": "Drain cleaning", "date_from": "2099-01-02", "date_to": "2099-01-01"}',
     "before date_from"),
    ("hand_off", '{"reason": "other"}', "missing argument(s): summary"),
])
def test_bad_arguments_are_refused_with_an_actionable_message(session: Session, shop: Shop, name: str, raw: str,
                                                              error: str) -> None:
    outcome = execute(_ctx(session, shop), name, raw)
    assert not outcome.accepted and error in outcome.content["error"]
    assert json.loads(outcome.as_message()) == outcome.content


def test_a_visit_that_already_started_cannot_be_moved_or_cancelled(session: Session, shop: Shop) -> None:
    started = utcnow() - timedelta(minutes=30)
    booking = Booking(account_id=shop.account.id, contact_id=shop.contact.id, thread_id=shop.thread.id,
                      source="agent", job_type="Drain cleaning", starts_at=started, ends_at=started + timedelta(hours=1),
                      seat=0)
    session.add(booking)
    session.commit()
    outcome = execute(_ctx(session, shop), "cancel_booking", json.dumps({"booking_id": booking.id}))
    assert "already started" in outcome.content["error"]
    assert booking.status == "booked"


def test_find_slots_searches_at_most_two_weeks_and_labels_times_locally(session: Session, shop: Shop) -> None:
    first = next_weekday(0)
    outcome = execute(_ctx(session, shop), "find_slots", json.dumps({
        "job_type": "water heater REPAIR", "date_from": first.isoformat(),
        "date_to": (first + timedelta(days=60)).isoformat()}))
    assert outcome.accepted and outcome.content["job_type"] == "Water heater repair"
    slots = outcome.content["slots"]
    assert slots and slots[0]["start"] == local(first, 8).isoformat() and slots[0]["label"].endswith("8:00 AM")
    assert all(datetime.fromisoformat(s["start"]) < local(first + timedelta(days=14), 0) for s in slots)


def test_a_start_without_offset_is_read_in_the_business_time_zone(session: Session, shop: Shop) -> None:
    day = next_weekday(2)
    outcome = execute(_ctx(session, shop), "book_slot", json.dumps({
        "job_type": "Drain cleaning", "start": f"{day.isoformat()}T10:00"}))
    assert outcome.accepted and outcome.booking is not None
    assert outcome.booking.starts_at == local(day, 10) and outcome.booking.starts_at.astimezone(LA).hour == 10
