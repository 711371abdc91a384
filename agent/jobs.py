"""The agent's turn: an RQ job per inbound message that answers the customer (or hands off).

The job re-reads everything: by the time it runs a CSR may have taken the thread, the customer
may have opted out or sent more texts (then only the newest message's turn answers, once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import guardrails, llm, tools
from agent.handoff import hand_off
from agent.prompts import history, latest_session, system_prompt
from agent.service import HOW_TO_ENABLE, agent_available
from bookings.calendar import zone
from bookings.models import Booking
from core.db import session_scope, utcnow
from core.queue import get_redis
from core.settings import get_settings
from inbox.models import Account, Contact, Message, Thread
from inbox.sending import send_text

log = logging.getLogger(__name__)
CLAIM_TTL = 7 * 86400


def _latest_inbound_id(session: Session, thread_id: int) -> int | None:
    return session.scalar(select(Message.id).where(Message.thread_id == thread_id, Message.direction == "inbound")
                          .order_by(Message.id.desc()).limit(1))


def _answered(session: Session, message: Message) -> bool:
    return session.scalar(select(Message.id).where(
        Message.thread_id == message.thread_id, Message.direction == "outbound", Message.sender == "agent",
        Message.id > message.id).limit(1)) is not None


def _skip_reason(session: Session, message: Message | None, thread: Thread | None, contact: Contact | None) -> str | None:
    if message is None or thread is None or contact is None or message.direction != "inbound":
        return "no such inbound message"
    if not agent_available():
        return "agent off"
    if thread.owner != "agent":
        return f"thread owned by {thread.owner}"
    if thread.escalated:
        return "handed off"
    if contact.opted_out or thread.opted_out:
        return "opted out"
    if _latest_inbound_id(session, thread.id) != message.id:
        return "superseded by a newer text"
    if _answered(session, message):
        return "already answered"
    return None


def _burst(session: Session, thread: Thread) -> list[str]:
    """The customer's texts since the business last wrote: what this turn answers."""
    rows = list(session.scalars(select(Message).where(Message.thread_id == thread.id)
                                .order_by(Message.id.desc()).limit(10)))
    texts: list[str] = []
    for row in rows:
        if row.direction == "outbound":
            break
        texts.append(row.body)
    return list(reversed(texts))


def _recent(session: Session, thread: Thread, direction: str, sender: str) -> list[str]:
    rows = session.scalars(select(Message.body).where(
        Message.thread_id == thread.id, Message.direction == direction, Message.sender == sender)
        .order_by(Message.id.desc()).limit(3))
    return list(reversed(list(rows)))


def _context(session: Session, account: Account, thread: Thread, contact: Contact, now: datetime) -> tools.ToolContext:
    # Which follow-up (and variant) earned the booking is for follow-ups to say, when it is announced.
    booking_session = latest_session(session, thread)
    return tools.ToolContext(session, account, thread, contact, now,
                             booking_session_id=booking_session.id if booking_session else None)


def _say(session: Session, thread: Thread, message_id: int, text: str) -> Message | None:
    """Send the agent's text unless, meanwhile, a person took the thread or a newer text arrived."""
    session.refresh(thread)
    if thread.owner != "agent" or _latest_inbound_id(session, thread.id) != message_id:
        return None
    sent = send_text(session, thread, guardrails.fit_reply(text), sender="agent")
    if sent.decision != "blocked":
        thread.agent_messages += 1
    return sent


def _hand_off(session: Session, thread: Thread, message_id: int, trigger: guardrails.Trigger) -> dict[str, Any]:
    sent = _say(session, thread, message_id, trigger.reply)
    hand_off(session, thread, trigger.reason, trigger.summary)
    return {"handed_off": trigger.reason, "replied": sent is not None}


def _tool_handoff(account: Account, reason: str, summary: str) -> guardrails.Trigger:
    emergency = guardrails.emergency_trigger(summary, account.name)
    if reason == "emergency" or emergency:
        reply = emergency.reply if emergency else (f"If anyone is in danger, call 911 now. I'm alerting "
                                                    f"someone from {account.name} right now.")
        return guardrails.Trigger("emergency", reply, summary)
    return guardrails.Trigger(reason, f"I'm passing you to someone from {account.name}; they'll text you here "
                              "shortly.", summary)


def _function_calls(choice_message: Any) -> list[Any]:
    # Only function tools are offered; anything else a model invents is dropped, not run.
    return [c for c in choice_message.tool_calls or [] if getattr(c, "function", None) is not None]


def _assistant_turn(choice_message: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": choice_message.content, "tool_calls": [
        {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
        for c in _function_calls(choice_message)]}


def _confirmed(text: str, booked: str | None) -> str:
    """The model's reply, with the real booked time added when the reply does not state it."""
    if booked is None:
        return text
    weekday, _, rest = booked.partition(" ")
    time_of_day = rest.rsplit(", ", 1)[-1]  # "Tue Nov 24, 10:00 AM" -> "10:00 AM"
    if weekday in text and (time_of_day in text or time_of_day.replace(":00", "") in text):
        return text
    return f"{text.rstrip()} Confirmed: {booked}."


# What a successful tool call really did, in the words a reply may use ("you're now booked for 2" after a move).
DONE_BY_TOOL = {"book_slot": {"booked"}, "reschedule_booking": {"rescheduled", "booked"},
                "cancel_booking": {"cancelled"}}
MOVED_AFTER = timedelta(seconds=2)  # a booked row changed after it was made has been rescheduled


def _contact_bookings(ctx: tools.ToolContext) -> list[Booking]:
    return list(ctx.session.scalars(select(Booking).where(
        Booking.account_id == ctx.account.id, Booking.contact_id == ctx.contact.id).order_by(Booking.id)))


def _backed_by_earlier_turns(bookings: list[Booking], now: datetime) -> set[str]:
    """What the contact's booking rows show was done before this turn."""
    backed: set[str] = set()
    for b in bookings:
        if b.status == "cancelled":
            backed.add("cancelled")
        elif b.starts_at is not None and b.starts_at > now:
            backed.add("booked")
            if b.updated_at and b.created_at and b.updated_at - b.created_at > MOVED_AFTER:
                backed.add("rescheduled")
    return backed


def _facts(ctx: tools.ToolContext, bookings: list[Booking], done: set[str]) -> str:
    """What really happened, for the model's correction and the team's note."""
    did = ", ".join(sorted(done)) if done else "nothing was booked, moved or cancelled"
    rows = [f"booking {b.id}: {b.job_type} on {tools.slot_label(ctx, b.starts_at)} ({b.status})"
            for b in bookings if b.starts_at is not None]
    return f"In this turn {did}. The customer's bookings: {'; '.join(rows) if rows else 'none'}."


def _unbacked(ctx: tools.ToolContext, text: str, done: set[str]) -> tuple[set[str], str]:
    """The claims in `text` that neither this turn's tool calls nor the booking rows back, and the facts.
    A booking claimed for a day ("booked for Friday") is backed only by a booking on one of the days named."""
    claims = guardrails.claimed_actions(text)
    if not claims:
        return set(), ""
    bookings = _contact_bookings(ctx)
    backed = done | _backed_by_earlier_turns(bookings, ctx.now)
    named = guardrails.weekdays_named(text)
    if named and claims & {"booked", "rescheduled"}:
        days = {b.starts_at.astimezone(zone(ctx.account)).weekday() for b in bookings
                if b.status == "booked" and b.starts_at is not None and b.starts_at > ctx.now}
        if not days & named:
            backed -= {"booked", "rescheduled"}
    unbacked = claims - backed
    return unbacked, _facts(ctx, bookings, done) if unbacked else ""


def converse(session: Session, account: Account, thread: Thread, contact: Contact, message: Message,
             now: datetime) -> dict[str, Any]:
    """One agent turn on a thread it owns: guardrails, then the model with tools, then one reply, which
    never claims a booking, move or cancellation that no tool call (or earlier booking row) backs."""
    config = get_settings().agent
    trigger = guardrails.detect(_burst(session, thread), account.name)
    if trigger is None and guardrails.is_loop(_recent(session, thread, "inbound", "customer"),
                                              _recent(session, thread, "outbound", "agent")):
        trigger = guardrails.loop_trigger(account.name)
    if trigger is None and thread.agent_messages >= config.max_agent_messages:
        trigger = guardrails.limit_trigger(account.name, f"{config.max_agent_messages} texts on this thread")
    if trigger:
        return _hand_off(session, thread, message.id, trigger)
    ctx = _context(session, account, thread, contact, now)
    conversation = [{"role": "system", "content": system_prompt(session, account, thread, contact, now)}]
    conversation += history(session, thread)
    definitions = tools.definitions(session, account)
    refused = 0
    booked: str | None = None  # the label of a slot booked or moved to in this turn
    done: set[str] = set()  # what this turn's tool calls really did
    corrected = False  # a reply that claimed what was not done gets one correction
    for _ in range(config.max_tool_rounds):
        # Commit before waiting on the model: no row or booking lock is held during an LLM call.
        session.commit()
        try:
            response = llm.chat(account.id, thread.id, conversation, definitions)
        except llm.LlmUnavailable as exc:
            return _hand_off(session, thread, message.id, guardrails.failure_trigger(account.name, str(exc)))
        reply = response.choices[0].message
        if not _function_calls(reply):
            text = reply.content or ""
            if not text.strip():
                break
            unbacked, facts = _unbacked(ctx, text, done)
            if unbacked and corrected:
                return _hand_off(session, thread, message.id, guardrails.claim_trigger(account.name, unbacked, text, facts))
            if unbacked:
                corrected = True
                conversation += [{"role": "assistant", "content": text},
                                 {"role": "system", "content": guardrails.claim_correction(unbacked, facts)}]
                continue
            sent = _say(session, thread, message.id, _confirmed(text, booked))
            return {"replied": sent is not None, "refused_tool_calls": refused}
        conversation.append(_assistant_turn(reply))
        for call in _function_calls(reply):
            outcome = tools.execute(ctx, call.function.name, call.function.arguments)
            refused += not outcome.accepted
            if outcome.accepted and outcome.booking is not None:
                done |= DONE_BY_TOOL.get(call.function.name, set())
            if outcome.booking is not None and outcome.booking.status == "booked" and "label" in outcome.content:
                booked = outcome.content["label"]
            if outcome.handoff:
                return _hand_off(session, thread, message.id, _tool_handoff(account, *outcome.handoff))
            conversation.append({"role": "tool", "tool_call_id": call.id, "content": outcome.as_message()})
    trigger = guardrails.limit_trigger(account.name, f"no answer within {config.max_tool_rounds} model rounds")
    return _hand_off(session, thread, message.id, trigger)


def run_turn(message_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The RQ job: answer inbound message `message_id` if it is still the agent's to answer."""
    now = now or utcnow()
    with session_scope() as session:
        message = session.get(Message, message_id)
        thread = session.get(Thread, message.thread_id) if message else None
        contact = session.get(Contact, thread.contact_id) if thread else None
        reason = _skip_reason(session, message, thread, contact)
        if reason == "agent off" and thread is not None and thread.owner == "agent":
            # Turned off since this turn was queued: the customer still needs an answer, from a person.
            hand_off(session, thread, "agent_off", f"The AI agent is off, so this thread is yours. {HOW_TO_ENABLE}",
                     escalate=False)
        if reason:
            log.info("agent turn for message %s skipped: %s", message_id, reason)
            return {"skipped": reason}
        assert message is not None and thread is not None and contact is not None
        # One answer per message even if the job is delivered twice or runs on two workers.
        if not get_redis().set(f"agent:turn-claim:{message_id}", "1", nx=True, ex=CLAIM_TTL):
            return {"skipped": "already claimed"}
        account = session.get(Account, thread.account_id)
        assert account is not None
        try:
            result = converse(session, account, thread, contact, message, now)
        except Exception:
            get_redis().delete(f"agent:turn-claim:{message_id}")  # let a retry answer it
            raise
    log.info("agent turn for message %s: %s", message_id, result)
    return result
