"""The agent never tells a customer about a booking, a move or a cancellation that did not happen.

A scripted model (respx answers the OpenAI API) claims what no tool call did, in several phrasings:
the claim never reaches the customer; the model is corrected once with what is true, and a second
false claim hands the thread to a person with a note. A model that books and says so is sent as is.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.guardrails import claimed_actions
from bookings.calendar import BuiltinCalendar
from bookings.models import Booking
from inbox.models import Note, Thread
from tests.agent.conftest import ScriptedLLM, Shop, completion, customer_texts, local, next_weekday, outbound

HONEST = "I haven't booked anything yet. Would Tue 8:00 AM or 10:00 AM work for you?"


def _existing_booking(session: Session, shop: Shop) -> Booking:
    booking = BuiltinCalendar().book(session, shop.account, shop.heater, local(next_weekday(1), 8),
                                     contact_id=shop.contact.id, thread_id=shop.thread.id, source="agent")
    session.commit()
    return booking


def _bookings(session: Session) -> list[tuple[str, object]]:
    session.expire_all()
    return [(b.status, b.starts_at) for b in session.scalars(select(Booking).order_by(Booking.id))]


# (what the model says without any tool call, whether the customer already has a booking)
HALLUCINATIONS = [
    ("Great news — you're booked for Friday at 9:00 AM. See you then!", False),
    ("I've scheduled you for Thursday morning, a tech will be there at 8.", False),
    ("Your appointment is confirmed!", False),
    ("You’re all set for Friday at 9.", False),
    ("I moved your visit to Thursday at 2:00 PM.", True),
    ("Your booking is cancelled. Sorry we couldn't help this time.", True),
]


@pytest.mark.parametrize(("claim", "has_booking"), HALLUCINATIONS)
def test_a_claim_no_tool_call_made_is_corrected_and_never_sent(session, shop, llm: ScriptedLLM, worker,
                                                               claim, has_booking):
    if has_booking:
        _existing_booking(session, shop)
    before = _bookings(session)
    llm.then(completion(claim), completion(HONEST))
    customer_texts(session, shop.thread, "can someone come out this week? friday 9 would be great")
    worker()
    texts = [m.body for m in outbound(session, shop.thread)]
    assert texts == [HONEST]
    assert _bookings(session) == before  # nothing was booked, moved or cancelled behind the customer's back
    correction = llm.requests[1]["messages"][-1]
    assert correction["role"] == "system" and "no tool call made it" in correction["content"]
    assert llm.requests[1]["messages"][-2] == {"role": "assistant", "content": claim}
    if has_booking:
        assert "(booked)" in correction["content"]
    else:
        assert "The customer's bookings: none." in correction["content"]


def test_a_second_false_claim_hands_the_thread_to_a_person(session, shop, llm: ScriptedLLM, worker):
    llm.then(completion("You're booked for Friday at 9:00 AM!"),
             completion("Sorry for the confusion, your appointment is confirmed for Friday at 9."))
    customer_texts(session, shop.thread, "friday at 9 please")
    worker()
    texts = [m.body for m in outbound(session, shop.thread)]
    assert len(texts) == 1 and "confirm the details" in texts[0] and "booked" not in texts[0]
    thread = session.get(Thread, shop.thread.id)
    assert thread is not None and (thread.owner, thread.escalated, thread.handoff_reason) == (
        "csr", True, "unverified_claim")
    note = session.scalars(select(Note).where(Note.thread_id == shop.thread.id)).one()
    assert "claimed a booking that no tool call made" in note.body and "Friday at 9" in note.body
    assert "nothing was booked" in note.body
    assert _bookings(session) == []


def test_a_correction_that_leads_to_a_real_booking_is_sent(session, shop, llm: ScriptedLLM, worker):
    start = local(next_weekday(1), 10)
    llm.then(completion("You're booked for Tue 10:00 AM!"),
             completion(tool_calls=[("book_slot", {"job_type": "Water heater repair", "start": start.isoformat()})]),
             completion("You're booked for Tue 10:00 AM. See you then!"))
    customer_texts(session, shop.thread, "tuesday 10am works")
    worker()
    assert [m.body for m in outbound(session, shop.thread)] == ["You're booked for Tue 10:00 AM. See you then!"]
    assert _bookings(session) == [("booked", start)]


def test_a_booking_made_and_announced_goes_out_unchanged(session, shop, llm: ScriptedLLM, worker):
    start = local(next_weekday(1), 10)
    llm.then(completion(tool_calls=[("book_slot", {"job_type": "Water heater repair", "start": start.isoformat()})]),
             completion("You're booked for Tue 10:00 AM. See you then!"))
    customer_texts(session, shop.thread, "10 works")
    worker()
    assert [m.body for m in outbound(session, shop.thread)] == ["You're booked for Tue 10:00 AM. See you then!"]
    assert len(llm.requests) == 2  # no correction round
    assert _bookings(session) == [("booked", start)]


def test_confirming_a_booking_an_earlier_turn_made_is_the_truth(session, shop, llm: ScriptedLLM, worker):
    _existing_booking(session, shop)
    llm.then(completion("Yes, you're booked for Tuesday at 8:00 AM. See you then!"))
    customer_texts(session, shop.thread, "just checking, am I still on for tuesday?")
    worker()
    assert [m.body for m in outbound(session, shop.thread)] == ["Yes, you're booked for Tuesday at 8:00 AM. See you then!"]
    assert len(llm.requests) == 1


def test_a_booking_claimed_for_another_day_than_the_real_one_is_corrected(session, shop, llm: ScriptedLLM, worker):
    _existing_booking(session, shop)  # next Tuesday, 8:00 AM
    llm.then(completion("Your appointment is confirmed for Friday at 9:00 AM."),
             completion("You're booked for Tue 8:00 AM, not Friday. Want me to move it?"))
    customer_texts(session, shop.thread, "am I on for friday at 9?")
    worker()
    assert [m.body for m in outbound(session, shop.thread)] == [
        "You're booked for Tue 8:00 AM, not Friday. Want me to move it?"]
    assert "Tue" in llm.requests[1]["messages"][-1]["content"]


def test_booking_one_day_and_announcing_another_is_corrected(session, shop, llm: ScriptedLLM, worker):
    start = local(next_weekday(1), 10)
    llm.then(completion(tool_calls=[("book_slot", {"job_type": "Water heater repair", "start": start.isoformat()})]),
             completion("You're booked for Friday at 10:00 AM!"),
             completion("You're booked for Tue 10:00 AM. See you then!"))
    customer_texts(session, shop.thread, "10 works")
    worker()
    assert [m.body for m in outbound(session, shop.thread)] == ["You're booked for Tue 10:00 AM. See you then!"]
    assert "In this turn booked." in llm.requests[2]["messages"][-1]["content"]


@pytest.mark.parametrize("text", [
    "I can book you for Friday at 9, does that work?",
    "Should I cancel it?",
    "Your appointment isn't confirmed yet.",
    "Would you like me to move your visit to Thursday?",
    "I have Tue 8:00 AM or 10:00 AM. Which works?",
    "I haven't booked anything yet.",
])
def test_offers_questions_and_negations_are_not_claims(text):
    assert claimed_actions(text) == set()
