"""What a rep does to a thread: assign, escalate, resolve, take over from the agent, hand back,
mark read, add an internal note.

Each action changes the thread in the caller's transaction and emits its realtime event (after
commit, through `inbox.events.emit`). Notes are internal: nothing here ever sends a text.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import session_scope, utcnow
from core.outbox import enqueue_after_commit
from core.settings import get_settings
from inbox import events
from inbox.accounts import ValidationError
from inbox.models import Account, Note, Thread, User
from inbox.serializers import note_json

NOTE_MAX = 4000


def _changed(session: Session, thread: Thread) -> Thread:
    events.thread_changed(session, thread)
    return thread


def _system_note(session: Session, thread: Thread, actor: User | None, text: str) -> Note:
    # A visible audit line in the thread ("who took over, when"), stored as a note so it is never sent.
    return add_note(session, thread, text, author=actor, author_kind="system")


def add_note(session: Session, thread: Thread, body: str, *, author: User | None,
             author_kind: str = "csr") -> Note:
    """An internal note on the thread, visible to reps only; never sent to the customer."""
    body = (body or "").strip()
    if not body:
        raise ValidationError("body: a note cannot be empty")
    if len(body) > NOTE_MAX:
        raise ValidationError(f"body: a note is at most {NOTE_MAX} characters")
    note = Note(account_id=thread.account_id, thread_id=thread.id, author_kind=author_kind,
                author_id=author.id if author else None, body=body)
    session.add(note)
    session.flush()
    payload = note_json(note) | {"author_name": author.name if author else None}
    events.emit(session, thread.account_id, events.NOTE_CREATED, payload, thread_id=thread.id)
    return note


def assign(session: Session, thread: Thread, assignee_id: int | None, *, actor: User) -> Thread:
    """Assign the thread to a rep of the same account, or unassign it (None)."""
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or assignee.account_id != thread.account_id:
            raise ValidationError(f"assignee_id: no user {assignee_id} in this account")
        if thread.assignee_id == assignee_id:
            return thread
        thread.assignee_id = assignee_id
        who = "themselves" if assignee.id == actor.id else assignee.name
        _system_note(session, thread, actor, f"{actor.name} assigned this thread to {who}")
    else:
        if thread.assignee_id is None:
            return thread
        thread.assignee_id = None
        _system_note(session, thread, actor, f"{actor.name} unassigned this thread")
    return _changed(session, thread)


def escalate(session: Session, thread: Thread, *, actor: User, reason: str | None = None) -> Thread:
    """Flag the thread for a supervisor's attention."""
    if thread.escalated:
        return thread
    thread.escalated = True
    suffix = f": {reason}" if reason else ""
    _system_note(session, thread, actor, f"{actor.name} escalated this thread{suffix}")
    return _changed(session, thread)


def deescalate(session: Session, thread: Thread, *, actor: User) -> Thread:
    """Clear the escalation flag."""
    if not thread.escalated:
        return thread
    thread.escalated = False
    _system_note(session, thread, actor, f"{actor.name} de-escalated this thread")
    return _changed(session, thread)


def resolve(session: Session, thread: Thread, *, actor: User) -> Thread:
    """Close the thread; a new inbound text reopens it."""
    if thread.status == "resolved":
        return thread
    thread.status = "resolved"
    thread.unread_count = 0
    _system_note(session, thread, actor, f"{actor.name} resolved this thread")
    return _changed(session, thread)


def reopen(session: Session, thread: Thread, *, actor: User) -> Thread:
    """Put a resolved (or snoozed/pending) thread back to open."""
    if thread.status == "open":
        return thread
    thread.status = "open"
    _system_note(session, thread, actor, f"{actor.name} reopened this thread")
    return _changed(session, thread)


def take_over(session: Session, thread: Thread, *, actor: User) -> Thread:
    """The rep takes the conversation from the AI agent: the agent stops answering this thread,
    and the rep is assigned if nobody was."""
    if thread.owner == "csr" and thread.assignee_id is not None:
        return thread
    was_agent = thread.owner == "agent"
    thread.owner = "csr"
    if thread.assignee_id is None:
        thread.assignee_id = actor.id
    text = f"{actor.name} took over from the AI agent" if was_agent else f"{actor.name} took this thread"
    _system_note(session, thread, actor, text)
    return _changed(session, thread)


def hand_back(session: Session, thread: Thread, *, actor: User) -> Thread:
    """Give the conversation back to the AI agent; it answers the customer's next text."""
    if thread.owner == "agent":
        return thread
    if not get_settings().agent_enabled:
        raise ValidationError("owner: the AI agent is off "
                              "(set OPENAI_API_KEY or OPENAI_BASE_URL to turn it on)")
    if thread.opted_out:
        raise ValidationError("owner: this contact opted out; the agent cannot text them")
    thread.owner = "agent"
    thread.escalated = False
    thread.handoff_reason = None
    _system_note(session, thread, actor, f"{actor.name} handed this thread back to the AI agent")
    return _changed(session, thread)


def mark_read(session: Session, thread: Thread) -> Thread:
    """Clear the thread's unread count (a rep opened it)."""
    if thread.unread_count == 0:
        return thread
    thread.unread_count = 0
    return _changed(session, thread)


def account_users(session: Session, account_id: int) -> list[User]:
    """The account's active reps, for the assign menu."""
    return list(session.scalars(select(User).where(User.account_id == account_id, User.active.is_(True))
                                .order_by(User.name)))


def snooze(session: Session, thread: Thread, until: datetime | None, *, actor: User) -> Thread:
    """Put the thread aside until `until` (None: until the customer texts). A text from the customer
    always brings it back as open (the inbound pipeline reopens snoozed threads)."""
    if thread.status == "resolved":
        raise ValidationError("status: this thread is resolved; reopen it before snoozing")
    if until is not None and until <= utcnow():
        raise ValidationError("until: must be in the future")
    thread.status = "snoozed"
    thread.snoozed_until = until
    if until is None:
        when = "until the customer replies"
    else:
        account = session.get(Account, thread.account_id)
        zone = ZoneInfo(account.timezone if account else "UTC")
        when = f"until {until.astimezone(zone):%a %b %-d, %-I:%M %p} or the customer replies"
        # By name: the worker imports this module only when the snooze ends.
        enqueue_after_commit(session, "inbox.threads.wake_snoozed", thread.id, at=until,
                             job_id=f"snooze-{thread.id}-{int(until.timestamp())}")
    _system_note(session, thread, actor, f"{actor.name} snoozed this thread {when}")
    return _changed(session, thread)


def unsnooze(session: Session, thread: Thread, *, actor: User | None) -> Thread:
    """Bring a snoozed thread back to open now."""
    if thread.status != "snoozed":
        return thread
    thread.status = "open"
    thread.snoozed_until = None
    _system_note(session, thread, actor, f"{actor.name} ended the snooze" if actor else "The snooze ended")
    return _changed(session, thread)


def wake_snoozed(thread_id: int) -> dict[str, object]:
    """RQ job at a snooze's end: reopen the thread if it is still snoozed until now (a re-snooze to a
    later time or an earlier wake-up makes this run a no-op)."""
    with session_scope() as session:
        thread = session.get(Thread, thread_id)
        due = thread is not None and thread.status == "snoozed" and thread.snoozed_until is not None \
            and thread.snoozed_until <= utcnow()
        if thread is not None and due:
            unsnooze(session, thread, actor=None)
    return {"thread": thread_id, "woke": due}
