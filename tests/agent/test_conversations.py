"""Scripted conversations: the agent books, reschedules, cancels and hands off over text.

Each test drives the real path — inbound text stored, turn scheduled on RQ, the job run by a real
worker, replies through the send gate — with only the LLM's HTTP API mocked (respx).
"""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models import LlmCall
from agent.service import start_followup_conversation
from bookings.calendar import BuiltinCalendar
from bookings.models import Booking, BookingSession
from core.settings import get_settings
from followups.models import Followup
from inbox.models import Event, Note, Thread
from tests.agent.conftest import ScriptedLLM, Shop, completion, customer_texts, local, next_weekday, outbound


def _thread(session: Session, shop: Shop) -> Thread:
    session.expire_all()
    thread = session.get(Thread, shop.thread.id)
    assert thread is not None
    return thread


def _abandoned_followup(session: Session, shop: Shop) -> Followup:
    booking_session = BookingSession(account_id=shop.account.id, external_id="sess_42", contact_id=shop.contact.id,
                                     thread_id=shop.thread.id, job_type="Water heater repair",
                                     job_notes="no hot water since Sunday")
    session.add(booking_session)
    session.flush()
    followup = Followup(account_id=shop.account.id, session_id=booking_session.id, contact_id=shop.contact.id,
                        thread_id=shop.thread.id, due_at=booking_session.created_at, status="sent",
                        sent_at=booking_session.created_at, mode="agent", variant="agent-b")
    session.add(followup)
    shop.thread.owner = "none"
    session.commit()
    return followup


def test_followup_conversation_books_the_job_in_a_few_turns(session, shop, llm: ScriptedLLM, worker, agent_on):
    followup = _abandoned_followup(session, shop)
    opening = start_followup_conversation(session, shop.thread, followup.id)
    session.commit()
    assert opening is not None and opening.sender == "agent" and "water heater repair" in opening.body
    assert _thread(session, shop).owner == "agent"

    tuesday = next_weekday(1)
    llm.then(
        completion(tool_calls=[("find_slots", {"job_type": "Water heater repair", "date_from": tuesday.isoformat(),
                                               "date_to": tuesday.isoformat(), "part_of_day": "morning"})]),
        completion("I have Tue 8:00 AM or 10:00 AM. Which works?"),
    )
    customer_texts(session, shop.thread, "yes please, tuesday morning?")
    worker()
    assert outbound(session, shop.thread)[-1].body == "I have Tue 8:00 AM or 10:00 AM. Which works?"
    slots_result = json.loads(llm.requests[1]["messages"][-1]["content"])
    assert [s["start"] for s in slots_result["slots"]] == [local(tuesday, 8).isoformat(), local(tuesday, 10).isoformat()]

    start = local(tuesday, 10).isoformat()
    llm.then(completion(tool_calls=[("book_slot", {"job_type": "Water heater repair", "start": start})]),
             completion("You're booked for Tue 10:00 AM. See you then!"))
    customer_texts(session, shop.thread, "10 works")
    worker()

    booking = session.scalars(select(Booking)).one()
    assert (booking.contact_id, booking.thread_id, booking.followup_id, booking.session_id, booking.variant,
            booking.source, booking.job_type) == (shop.contact.id, shop.thread.id, followup.id, followup.session_id,
                                                  "agent-b", "agent", "Water heater repair")
    assert booking.starts_at == local(tuesday, 10)
    texts = outbound(session, shop.thread)
    assert texts[-1].body == "You're booked for Tue 10:00 AM. See you then!" and texts[-1].decision == "send"
    assert len(texts) == 3 and _thread(session, shop).agent_messages == 3
    # The prompt carried the business, the abandoned session's context and the earlier texts.
    system = llm.requests[-1]["messages"][0]["content"]
    assert "Reyes Plumbing" in system and "no hot water since Sunday" in system and "America/Los_Angeles" in system
    assert any(m.get("content") == "yes please, tuesday morning?" for m in llm.requests[-1]["messages"])
    calls = session.scalars(select(LlmCall).where(LlmCall.thread_id == shop.thread.id)).all()
    assert len(calls) == 4 and all(c.ok and c.prompt_tokens == 420 and c.model == "test-model" for c in calls)
    assert session.scalar(select(Event.id).where(Event.type == "booking.created")) is not None


def _booked(session: Session, shop: Shop, hour: int = 8) -> Booking:
    booking = BuiltinCalendar().book(session, shop.account, shop.heater, local(next_weekday(1), hour),
                                     contact_id=shop.contact.id, thread_id=shop.thread.id, source="link")
    session.commit()
    return booking


def test_customer_reschedules_their_booking(session, shop, llm: ScriptedLLM, worker):
    booking = _booked(session, shop)
    new_start = local(next_weekday(1), 14)
    llm.then(completion(tool_calls=[("reschedule_booking", {"booking_id": booking.id, "start": new_start.isoformat()})]),
             completion("Done, you're now booked for 2:00 PM."))
    customer_texts(session, shop.thread, "can we move it to the afternoon, 2pm?")
    worker()
    session.expire_all()
    assert session.get(Booking, booking.id).starts_at == new_start  # type: ignore[union-attr]
    assert f"booking_id {booking.id}" in llm.requests[0]["messages"][0]["content"]
    # The model left out the day, so the reply carries the real booked time.
    label = new_start.strftime("%a %b %-d, %-I:%M %p")
    assert outbound(session, shop.thread)[-1].body == f"Done, you're now booked for 2:00 PM. Confirmed: {label}."


def test_customer_cancels_their_booking(session, shop, llm: ScriptedLLM, worker):
    booking = _booked(session, shop)
    llm.then(completion(tool_calls=[("cancel_booking", {"booking_id": booking.id})]),
             completion("Your appointment is cancelled."))
    customer_texts(session, shop.thread, "please cancel my appointment, fixed it myself")
    worker()
    session.expire_all()
    cancelled = session.get(Booking, booking.id)
    assert cancelled is not None and cancelled.status == "cancelled" and cancelled.seat is None


def _assert_handed_off(session: Session, shop: Shop, reason: str) -> Note:
    thread = _thread(session, shop)
    assert (thread.owner, thread.escalated, thread.handoff_reason) == ("csr", True, reason)
    note = session.scalars(select(Note).where(Note.thread_id == shop.thread.id, Note.author_kind == "agent")).one()
    emitted = list(session.scalars(select(Event).where(Event.thread_id == shop.thread.id).order_by(Event.id)))
    after_note = emitted[[e.type for e in emitted].index("note.created"):]
    assert after_note[0].payload["author_kind"] == "agent"
    assert any(e.type == "thread.updated" and e.payload["owner"] == "csr" and e.payload["escalated"]
               for e in after_note)
    return note


def test_asking_for_a_person_hands_off_without_asking_the_model(session, shop, llm: ScriptedLLM, worker):
    customer_texts(session, shop.thread, "can I talk to a real person please")
    worker()
    assert llm.route.call_count == 0
    assert "passing you to someone from Reyes Plumbing" in outbound(session, shop.thread)[-1].body
    assert "asked for a person" in _assert_handed_off(session, shop, "customer_request").body


def test_frustration_hands_off(session, shop, llm: ScriptedLLM, worker):
    customer_texts(session, shop.thread, "this is ridiculous, I already told you twice")
    worker()
    assert llm.route.call_count == 0
    _assert_handed_off(session, shop, "frustration")


def test_emergency_hands_off_with_the_safety_instruction(session, shop, llm: ScriptedLLM, worker):
    customer_texts(session, shop.thread, "I smell gas in the basement near the water heater")
    worker()
    reply = outbound(session, shop.thread)[-1].body
    assert "leave the building now" in reply and "911" in reply
    assert "gas emergency" in _assert_handed_off(session, shop, "emergency").body


def test_flooding_gets_the_water_instruction(session, shop, llm: ScriptedLLM, worker):
    customer_texts(session, shop.thread, "pipe burst and the kitchen is flooding")
    worker()
    assert "main water valve" in outbound(session, shop.thread)[-1].body
    _assert_handed_off(session, shop, "emergency")


def test_llm_failure_after_retries_hands_off(session, shop, llm: ScriptedLLM, worker):
    llm.then(httpx.Response(429, json={"error": {"message": "rate limited", "type": "rate_limit"}}),
             httpx.Response(500, json={"error": {"message": "boom", "type": "server_error"}}),
             httpx.ReadTimeout("timed out"))
    customer_texts(session, shop.thread, "do you have anything thursday?")
    worker()
    assert llm.route.call_count == 3
    calls = session.scalars(select(LlmCall).order_by(LlmCall.id)).all()
    assert [c.ok for c in calls] == [False, False, False]
    assert "RateLimitError" in calls[0].error and "InternalServerError" in calls[1].error  # type: ignore[operator]
    assert "Timeout" in calls[2].error  # type: ignore[operator]
    assert "having trouble" in outbound(session, shop.thread)[-1].body
    _assert_handed_off(session, shop, "llm_failure")


def test_model_can_hand_off_out_of_scope_requests(session, shop, llm: ScriptedLLM, worker):
    llm.then(completion(tool_calls=[("hand_off", {"reason": "out_of_scope",
                                                  "summary": "Wants a quote for a whole-house repipe."})]))
    customer_texts(session, shop.thread, "what would a whole house repipe cost?")
    worker()
    assert "Wants a quote for a whole-house repipe." in _assert_handed_off(session, shop, "out_of_scope").body


def test_no_agent_text_after_a_hand_off(session, shop, llm: ScriptedLLM, worker):
    customer_texts(session, shop.thread, "I want to speak to a manager")
    worker()
    before = len(outbound(session, shop.thread))
    customer_texts(session, shop.thread, "hello??")
    worker()
    assert len(outbound(session, shop.thread)) == before and llm.route.call_count == 0


def test_no_agent_text_after_an_opt_out(session, shop, llm: ScriptedLLM, worker):
    message = customer_texts(session, shop.thread, "do you have friday?", schedule=False)
    shop.contact.opted_out = True
    shop.thread.opted_out = True
    from agent.service import schedule_turn

    schedule_turn(session, message)
    session.commit()
    worker()
    assert outbound(session, shop.thread) == [] and llm.route.call_count == 0


def test_a_duplicate_delivery_is_answered_once(session, shop, llm: ScriptedLLM, worker):
    from agent.jobs import run_turn
    from agent.service import schedule_turn

    llm.then(completion("Sure, what day works for you?"))
    message = customer_texts(session, shop.thread, "I need a plumber")
    schedule_turn(session, message)  # the same message handed to the agent again
    session.commit()
    worker()
    assert run_turn(message.id) == {"skipped": "already answered"}
    assert [m.body for m in outbound(session, shop.thread)] == ["Sure, what day works for you?"]


def test_a_burst_of_three_texts_gets_one_answer(session, shop, llm: ScriptedLLM, worker):
    llm.then(completion("Got it: water heater, no hot water. What day suits you?"))
    for body in ("hi", "my water heater is out", "no hot water at all"):
        customer_texts(session, shop.thread, body)
    worker()
    assert llm.route.call_count == 1
    assert len(outbound(session, shop.thread)) == 1
    sent = [m["content"] for m in llm.requests[0]["messages"] if m["role"] == "user"]
    assert sent == ["hi", "my water heater is out", "no hot water at all"]


def test_turns_are_debounced_by_the_configured_delay(session, shop, llm: ScriptedLLM, worker, monkeypatch):
    monkeypatch.setenv("TEXTDESK_AGENT_DEBOUNCE_SECONDS", "30")
    get_settings.cache_clear()
    customer_texts(session, shop.thread, "hello")
    worker()  # not due yet: nothing answered
    assert outbound(session, shop.thread) == [] and llm.route.call_count == 0
    from rq.registry import ScheduledJobRegistry

    from core.queue import get_queue

    assert ScheduledJobRegistry(queue=get_queue()).get_job_ids() != []


def test_tool_rounds_per_turn_are_capped(session, shop, llm: ScriptedLLM, worker, monkeypatch):
    monkeypatch.setenv("TEXTDESK_AGENT_MAX_TOOL_ROUNDS", "2")
    get_settings.cache_clear()
    day = next_weekday(2).isoformat()
    ask = ("find_slots", {"job_type": "Drain cleaning", "date_from": day, "date_to": day})
    llm.then(completion(tool_calls=[ask]), completion(tool_calls=[ask]))
    customer_texts(session, shop.thread, "drain is slow, when can you come")
    worker()
    assert llm.route.call_count == 2
    _assert_handed_off(session, shop, "limit")


def test_agent_messages_per_thread_are_capped(session, shop, llm: ScriptedLLM, worker, monkeypatch):
    monkeypatch.setenv("TEXTDESK_AGENT_MAX_MESSAGES", "3")
    get_settings.cache_clear()
    shop.thread.agent_messages = 3
    session.commit()
    customer_texts(session, shop.thread, "and what about next week")
    worker()
    assert llm.route.call_count == 0
    _assert_handed_off(session, shop, "limit")


def test_a_loop_hands_off(session, shop, llm: ScriptedLLM, worker):
    llm.then(completion("What day works for you?"), completion("What day works for you?"))
    customer_texts(session, shop.thread, "whenever")
    worker()
    customer_texts(session, shop.thread, "any day")
    worker()
    customer_texts(session, shop.thread, "any day is fine")
    worker()
    assert llm.route.call_count == 2
    _assert_handed_off(session, shop, "loop")


def test_long_model_replies_are_cut_to_three_segments(session, shop, llm: ScriptedLLM, worker):
    from inbox.sending import segments_of

    llm.then(completion("We can do that. " * 60))
    customer_texts(session, shop.thread, "tell me everything")
    worker()
    assert segments_of(outbound(session, shop.thread)[-1].body) <= 3


def test_a_csr_taking_over_mid_turn_stops_the_reply(session, shop, llm: ScriptedLLM, worker):
    def take_over_then_answer(request: httpx.Request) -> httpx.Response:
        from core.db import get_sessionmaker

        with get_sessionmaker()() as other:
            other.get(Thread, shop.thread.id).owner = "csr"  # type: ignore[union-attr]
            other.commit()
        return completion("Any time Tuesday?")

    scripted = [completion(tool_calls=[("find_slots", "{not json")])]
    llm.route.side_effect = lambda request: scripted.pop() if scripted else take_over_then_answer(request)
    customer_texts(session, shop.thread, "when can you come")
    worker()
    assert outbound(session, shop.thread) == []
    # The malformed tool JSON was answered with an actionable refusal, not a crash.
    refusal = json.loads(llm.requests[1]["messages"][-1]["content"])
    assert "not valid JSON" in refusal["error"]


def test_a_turn_queued_before_the_agent_was_turned_off_goes_to_the_csrs(session, shop, agent_on, monkeypatch):
    from agent.jobs import run_turn
    from core.settings import get_settings

    message = customer_texts(session, shop.thread, "is thursday free?", schedule=False)
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    get_settings.cache_clear()
    assert run_turn(message.id) == {"skipped": "agent off"}
    thread = _thread(session, shop)
    assert (thread.owner, thread.escalated, thread.handoff_reason) == ("csr", False, "agent_off")
    assert outbound(session, shop.thread) == []
    note = session.scalars(select(Note).where(Note.thread_id == shop.thread.id)).one()
    assert "OPENAI_API_KEY" in note.body


def test_no_booking_lock_is_held_while_the_model_thinks(session, shop, llm: ScriptedLLM, worker):
    """While the agent waits on the LLM after booking, another booking of the same day goes through at once."""
    from sqlalchemy import text

    from bookings.calendar import BuiltinCalendar
    from core.db import get_sessionmaker
    from inbox.models import Account
    from tests.agent.conftest import other_contact

    sam = other_contact(session, shop)
    tuesday = next_weekday(1)
    booked_meanwhile: list[int] = []

    def book_elsewhere_then_answer(request: httpx.Request) -> httpx.Response:
        with get_sessionmaker()() as other:
            if other.get_bind().dialect.name == "postgresql":
                other.execute(text("SET lock_timeout = '1s'"))
            else:
                other.execute(text("PRAGMA busy_timeout = 500"))
            booking = BuiltinCalendar().book(other, other.get(Account, shop.account.id), shop.heater,
                                             local(tuesday, 14), contact_id=sam.contact_id, thread_id=sam.id,
                                             source="csr")
            other.commit()
            booked_meanwhile.append(booking.id)
        return completion("Booked: Tue 8:00 AM.")

    scripted = [completion(tool_calls=[("book_slot", {"job_type": "Water heater repair",
                                                      "start": local(tuesday, 8).isoformat()})])]
    llm.route.side_effect = lambda request: scripted.pop() if scripted else book_elsewhere_then_answer(request)
    customer_texts(session, shop.thread, "tuesday 8am please")
    worker()
    assert booked_meanwhile and outbound(session, shop.thread)[-1].body == "Booked: Tue 8:00 AM."
    assert len(session.scalars(select(Booking)).all()) == 2
