"""The booking agent's reactions to what the inbox and follow-ups announce (`register` wires them).

- a customer's text on a thread the agent owns schedules one debounced agent turn (after commit);
- a follow-up in agent mode hands the thread to the agent, which sends its opening text.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from agent.prompts import latest_session, opening_text
from bookings.catalog import resolve_job_type
from core import hooks
from core.db import utcnow
from core.outbox import enqueue_after_commit
from core.settings import get_settings
from inbox.inbound import InboundResult
from inbox.models import Account, Contact, Message, Thread
from inbox.sending import send_text
from inbox.threads import add_note

TURN_JOB = "agent.jobs.run_turn"
HOW_TO_ENABLE = "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a self-hosted model) and restart to turn the AI agent on."


def agent_available() -> bool:
    """True when an LLM endpoint is configured (OPENAI_API_KEY or OPENAI_BASE_URL)."""
    return get_settings().agent_enabled


def turn_job_id(message_id: int) -> str:
    """The RQ job id of the agent turn for one inbound message (a repeat delivery maps to the same job)."""
    return f"agent-turn-{message_id}"


def schedule_turn(session: Session, message: Message) -> None:
    """Enqueue (after commit) one agent turn keyed by the inbound message, debounced."""
    if not agent_available():
        return
    if message.id is None:
        session.flush()
    delay = get_settings().agent.debounce_seconds
    # A repeat delivery of the same text never gets here (the inbox drops it), and the turn itself
    # answers only the newest unanswered text: one answer per burst, however often it is enqueued.
    at = utcnow() + timedelta(seconds=delay) if delay else None
    enqueue_after_commit(session, TURN_JOB, message.id, job_id=turn_job_id(message.id), at=at)


def on_texts_received(session: Session, *, received: list[InboundResult]) -> None:
    """A customer's text on a thread the agent owns gets the agent's answer; keywords never do."""
    for text in received:
        if text.compliance is None and text.thread.owner == "agent" and not text.contact.opted_out:
            schedule_turn(session, text.message)


def start_followup_conversation(session: Session, thread: Thread, followup_id: int) -> Message | None:
    """Agent-mode follow-up: the agent's opening text (through the send gate); the thread's owner
    becomes the agent. None when the agent is unavailable (the caller falls back to link mode)
    or a person already has the thread."""
    if not agent_available() or thread.owner == "csr" or thread.escalated:
        return None
    account = session.get(Account, thread.account_id)
    contact = session.get(Contact, thread.contact_id)
    assert account is not None and contact is not None
    thread.owner = "agent"
    _note_unmatched_job_type(session, account, thread)
    message = send_text(session, thread, opening_text(session, account, thread, contact), sender="agent")
    if message.decision != "blocked":
        thread.agent_messages += 1
    return message


def _note_unmatched_job_type(session: Session, account: Account, thread: Thread) -> None:
    """Tell the team when the scheduler's job type matches none of ours, so they can add an alias."""
    booking_session = latest_session(session, thread)
    raw = " ".join((booking_session.job_type or "").split())[:200] if booking_session else ""
    if not raw:
        return
    job, matched = resolve_job_type(session, account, raw)
    if matched:
        return
    offered = f"offers {job.name} (the default job type)" if job else "has no job type to offer"
    add_note(session, thread, f'The scheduler asked for "{raw}", which is no job type or alias of ours; the agent '
                              f'{offered} instead. Add "{raw}" as an alias in Business setup to match it next time.',
             author=None, author_kind="system")


def register() -> None:
    hooks.register(hooks.TEXTS_RECEIVED, on_texts_received)
    hooks.register(hooks.THREAD_TO_AGENT, start_followup_conversation)
