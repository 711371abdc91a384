"""The booking agent's entry points, used by the inbox (inbound texts) and follow-ups.

INTERFACE used by other packages: `agent_available`, `schedule_turn`, `start_followup_conversation`.
"""

from __future__ import annotations

from datetime import timedelta

from rq.job import Job
from sqlalchemy.orm import Session

from agent.config import agent_config
from core.db import on_commit, utcnow
from core.queue import enqueue, get_redis
from inbox.models import Account, Contact, Message, Thread

TURN_JOB = "agent.jobs.run_turn"
HOW_TO_ENABLE = "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a self-hosted model) and restart to turn the AI agent on."


def agent_available() -> bool:
    """True when an LLM endpoint is configured (OPENAI_API_KEY or OPENAI_BASE_URL)."""
    from core.settings import get_settings

    return get_settings().agent_enabled


def turn_job_id(message_id: int) -> str:
    """The RQ job id of the agent turn for one inbound message (a repeat delivery maps to the same job)."""
    return f"agent-turn-{message_id}"


def schedule_turn(session: Session, message: Message) -> None:
    """Called for an inbound customer message on a thread the agent owns, inside the inbound
    transaction: enqueues (after commit) one agent turn keyed by the message, debounced."""
    if not agent_available():
        return
    if message.id is None:
        session.flush()
    job_id = turn_job_id(message.id)
    delay = agent_config().debounce_seconds
    message_id = message.id

    def _enqueue() -> None:
        if Job.exists(job_id, connection=get_redis()):
            return  # already queued or ran: one turn per message
        at = utcnow() + timedelta(seconds=delay) if delay else None
        enqueue(TURN_JOB, message_id, job_id=job_id, at=at)

    on_commit(session, _enqueue)


def start_followup_conversation(session: Session, thread: Thread, followup_id: int) -> Message | None:
    """Agent-mode follow-up: the agent's opening text (through the send gate); the thread's owner
    becomes the agent. Returns None when the agent is unavailable (the caller falls back to link mode)
    or a person already has the thread."""
    from agent.prompts import opening_text

    if not agent_available() or thread.owner == "csr" or thread.escalated:
        return None
    account = session.get(Account, thread.account_id)
    contact = session.get(Contact, thread.contact_id)
    assert account is not None and contact is not None
    from inbox.sending import send_text  # local: sending imports the inbox's delivery chain

    thread.owner = "agent"
    message = send_text(session, thread, opening_text(session, account, thread, contact), sender="agent")
    if message.decision != "blocked":
        thread.agent_messages += 1
    return message
