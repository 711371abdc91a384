"""Handing a thread from the agent to the CSR queue.

After a hand-off the thread is the CSRs' (owner `csr`, escalated), the agent's summary is an
internal note, and the agent never texts on it again until a CSR hands it back
(`inbox.threads.hand_back` clears `escalated`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import hooks
from inbox import events
from inbox.models import Note, Thread
from inbox.threads import add_note


def hand_off(session: Session, thread: Thread, reason: str, summary: str, *, escalate: bool = True) -> Note:
    """Move `thread` to the CSR queue with the agent's summary as a note; emits note.created + thread.updated."""
    thread.owner = "csr"
    thread.escalated = thread.escalated or escalate
    thread.handoff_reason = reason
    if thread.status in ("resolved", "snoozed"):
        thread.status = "open"
    note = add_note(session, thread, f"AI agent handed off ({reason}): {summary.strip() or 'no summary'}",
                    author=None, author_kind="agent")
    events.thread_changed(session, thread)
    hooks.announce(session, hooks.THREAD_HANDED_OFF, thread=thread, reason=reason)
    return note
