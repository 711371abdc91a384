"""The inbox JSON API (/api/v1): threads, messages, notes and the thread actions.

Every handler reads and writes only rows of `request.user.account_id`; another account's id
answers 404 exactly like an id that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bookings.models import Booking, BookingSession
from core.db import utcnow
from core.inputs import INT64_MAX, id_in_range, text_problem
from followups.models import Followup
from followups.service import followup_json
from inbox import threads as actions
from inbox.accounts import ValidationError
from inbox.events import events_since
from inbox.models import Account, ConsentEvent, Contact, Message, Note, Thread, User
from inbox.phones import display
from inbox.search import threads_with_text
from inbox.sending import check_sendability, send_text
from inbox.serializers import iso, message_json, note_json, thread_json
from web import openapi_bodies as bodies
from web.auth import CurrentUser, scoped

MESSAGE_MAX = 1600  # ten concatenated segments; carriers drop longer texts
STATUSES = ("open", "pending", "snoozed", "resolved")
OWNERS = ("agent", "csr", "none")


THREAD_ACTIONS = {
    "escalate": actions.escalate,
    "de-escalate": actions.deescalate,
    "resolve": actions.resolve,
    "reopen": actions.reopen,
    "take-over": actions.take_over,
    "hand-back": actions.hand_back,
}


def _text_field(data: Any, name: str) -> str:
    if not isinstance(data, dict) or not isinstance(data.get(name), str):
        raise ValidationError(f"{name}: required, a string")
    if problem := text_problem(data[name]):
        raise ValidationError(f"{name}: {problem}")
    return data[name]


def _thread(db: Session, thread_id: int, user: CurrentUser) -> Thread:
    thread: Thread = scoped(db, Thread, thread_id, user)
    return thread


def _actor(db: Session, user: CurrentUser) -> User:
    row = db.get(User, user.id)
    if row is None:  # deleted while logged in
        raise NotFoundException("user not found")
    return row


def _thread_out(db: Session, thread: Thread) -> dict[str, Any]:
    contact = db.get(Contact, thread.contact_id)
    assert contact is not None
    return thread_json(thread, contact)


def thread_query(user: CurrentUser, status: str | None, owner: str | None, assignee: str | None,
                 escalated: bool | None, opted_out: bool | None, q: str | None, dialect: str = "sqlite") -> Any:
    """The list query behind the inbox filters, newest activity first; `q` matches the contact's name,
    phone digits and the text of the thread's messages."""
    stmt = (select(Thread, Contact).join(Contact, Contact.id == Thread.contact_id)
            .where(Thread.account_id == user.account_id))
    if status:
        if status not in STATUSES:
            raise ValidationError(f"status: one of {', '.join(STATUSES)}")
        stmt = stmt.where(Thread.status == status)
    if owner:
        if owner not in OWNERS:
            raise ValidationError(f"owner: one of {', '.join(OWNERS)}")
        stmt = stmt.where(Thread.owner == owner)
    if assignee == "me":
        stmt = stmt.where(Thread.assignee_id == user.id)
    elif assignee == "none":
        stmt = stmt.where(Thread.assignee_id.is_(None))
    elif assignee:
        if not (assignee.isascii() and assignee.isdigit()):
            raise ValidationError("assignee: 'me', 'none' or a user id")
        if not id_in_range(User, int(assignee)):
            raise NotFoundException(f"assignee: no user {assignee}")
        stmt = stmt.where(Thread.assignee_id == int(assignee))
    if escalated is not None:
        stmt = stmt.where(Thread.escalated == escalated)
    if opted_out is not None:
        stmt = stmt.where(Thread.opted_out == opted_out)
    if q and (problem := text_problem(q)):
        raise ValidationError(f"q: {problem}")
    if q and q.strip():
        term = q.strip().lower()
        digits = "".join(ch for ch in term if ch.isdigit())
        conditions = [func.lower(Contact.name).contains(term, autoescape=True)]
        if digits:
            conditions.append(Contact.phone.contains(digits, autoescape=True))
        in_messages = threads_with_text(dialect, user.account_id, q.strip())
        if in_messages is not None:
            conditions.append(Thread.id.in_(in_messages))
        stmt = stmt.where(or_(*conditions))
    # NULL activity (a thread with no message yet) sorts last on both databases.
    return stmt.order_by(Thread.last_message_at.is_(None), Thread.last_message_at.desc(), Thread.id.desc())


def contact_panel(db: Session, account: Account, contact: Contact, thread: Thread) -> dict[str, Any]:
    """What a rep sees beside the thread: number, local time, consent, sessions, follow-ups, bookings."""

    zone = contact.timezone or account.timezone
    consent = db.scalars(select(ConsentEvent).where(ConsentEvent.account_id == account.id,
                                                    ConsentEvent.contact_id == contact.id)
                         .order_by(ConsentEvent.id.desc()).limit(50))
    sessions = db.scalars(select(BookingSession).where(BookingSession.account_id == account.id,
                                                       BookingSession.contact_id == contact.id)
                          .order_by(BookingSession.id.desc()).limit(10))
    followups = db.scalars(select(Followup).where(Followup.account_id == account.id,
                                                  Followup.contact_id == contact.id)
                           .order_by(Followup.id.desc()).limit(10))
    bookings = db.scalars(select(Booking).where(Booking.account_id == account.id,
                                                Booking.contact_id == contact.id)
                          .order_by(Booking.id.desc()).limit(10))
    return {
        "id": contact.id, "name": contact.name, "phone": contact.phone,
        "display_phone": display(contact.phone),
        "email": contact.email, "zip": contact.zip, "line_type": contact.line_type or "unknown",
        "timezone": zone, "local_time": datetime.now(ZoneInfo(zone)).strftime("%a %-I:%M %p"),
        "opted_out": contact.opted_out,
        "consent": [{"action": c.action, "category": c.category, "source": c.source, "raw_text": c.raw_text,
                     "created_at": iso(c.created_at)} for c in consent],
        "sessions": [{"id": s.id, "job_type": s.job_type, "job_notes": s.job_notes, "status": s.status,
                      "url": s.url, "abandoned_at": iso(s.abandoned_at)} for s in sessions],
        "followups": [{"id": f.id, "status": f.status, "mode": f.mode, "variant": f.variant,
                       "due_at": iso(f.due_at), "block_reason": f.block_reason} for f in followups],
        "bookings": [{"id": b.id, "source": b.source, "job_type": b.job_type,
                      "starts_at": iso(b.starts_at), "status": b.status} for b in bookings],
    }


def thread_followups(db: Session, thread: Thread) -> list[dict[str, Any]]:
    """The contact's latest follow-ups, as the follow-up API shows them (the thread shows why each is where it is)."""
    rows = db.scalars(select(Followup).where(Followup.account_id == thread.account_id,
                                             Followup.contact_id == thread.contact_id)
                      .order_by(Followup.id.desc()).limit(3))
    return [followup_json(f) for f in rows]


def _sendability(db: Session, contact: Contact) -> dict[str, Any] | None:
    try:
        decision = check_sendability(db, contact, "transactional", utcnow())
    except NotImplementedError:
        return None
    return {"allowed": decision.allowed, "reasons": decision.reasons, "detail": decision.detail}


class InboxApi(Controller):
    path = "/api/v1"

    @get("/threads", sync_to_thread=True)
    def list_threads(self, request: Request[CurrentUser, Any, Any], db: Session, status: str | None = None,
                     owner: str | None = None, assignee: str | None = None, escalated: bool | None = None,
                     opted_out: bool | None = None, q: str | None = None,
                     limit: int = 200) -> list[dict[str, Any]]:
        """The account's threads, filtered, newest activity first."""
        stmt = thread_query(request.user, status, owner, assignee, escalated, opted_out, q,
                            dialect=db.get_bind().dialect.name)
        rows = db.execute(stmt.limit(max(1, min(limit, 500)))).all()
        previews = _previews(db, [t.id for t, _ in rows])
        return [{**thread_json(t, c), "preview": previews.get(t.id, "")} for t, c in rows]

    @get("/threads/{thread_id:int}", sync_to_thread=True)
    def thread_detail(self, request: Request[CurrentUser, Any, Any], db: Session,
                      thread_id: int) -> dict[str, Any]:
        """One thread with its contact panel and whether a reply may go out now."""
        thread = _thread(db, thread_id, request.user)
        contact = db.get(Contact, thread.contact_id)
        account = db.get(Account, thread.account_id)
        assert contact is not None and account is not None
        return thread_json(thread, contact) | {
            "handoff_reason": thread.handoff_reason,
            "account_timezone": account.timezone,
            "contact": contact_panel(db, account, contact, thread),
            "followups": thread_followups(db, thread),
            "sendability": _sendability(db, contact),
        }

    @get("/threads/{thread_id:int}/messages", sync_to_thread=True)
    def list_messages(self, request: Request[CurrentUser, Any, Any], db: Session,
                      thread_id: int) -> list[dict[str, Any]]:
        """The thread's texts, oldest first (the latest 500)."""
        thread = _thread(db, thread_id, request.user)
        rows = list(db.scalars(select(Message).where(Message.thread_id == thread.id,
                                                     Message.account_id == thread.account_id)
                               .order_by(Message.id.desc()).limit(500)))
        names = _user_names(db, thread.account_id)
        return [message_json(m) | {"sender_name": names.get(m.sender_user_id or 0)} for m in reversed(rows)]

    @post("/threads/{thread_id:int}/messages", sync_to_thread=True, status_code=201)
    def send_message(self, request: Request[CurrentUser, Any, Any], db: Session, thread_id: int,
                     data: bodies.Reply) -> dict[str, Any]:
        """A rep's reply; the send gate decides, and a block is stored with its reason (still 201)."""

        thread = _thread(db, thread_id, request.user)
        body = _text_field(data, "body").strip()
        if not body:
            raise ValidationError("body: a reply cannot be empty")
        if len(body) > MESSAGE_MAX:
            raise ValidationError(f"body: a text is at most {MESSAGE_MAX} characters")
        message = send_text(db, thread, body, sender="csr", user_id=request.user.id)
        db.commit()
        return message_json(message) | {"sender_name": request.user.name}

    @get("/threads/{thread_id:int}/notes", sync_to_thread=True)
    def list_notes(self, request: Request[CurrentUser, Any, Any], db: Session,
                   thread_id: int) -> list[dict[str, Any]]:
        """The thread's internal notes, oldest first."""
        thread = _thread(db, thread_id, request.user)
        rows = db.scalars(select(Note).where(Note.thread_id == thread.id,
                                             Note.account_id == thread.account_id)
                          .order_by(Note.id))
        names = _user_names(db, thread.account_id)
        return [note_json(n) | {"author_name": names.get(n.author_id or 0)} for n in rows]

    @post("/threads/{thread_id:int}/notes", sync_to_thread=True, status_code=201)
    def add_note(self, request: Request[CurrentUser, Any, Any], db: Session, thread_id: int,
                 data: bodies.Note) -> dict[str, Any]:
        """An internal note; never sent to the customer."""
        thread = _thread(db, thread_id, request.user)
        note = actions.add_note(db, thread, _text_field(data, "body"), author=_actor(db, request.user))
        db.commit()
        return note_json(note) | {"author_name": request.user.name}

    @post("/threads/{thread_id:int}/assign", sync_to_thread=True, status_code=200)
    def assign(self, request: Request[CurrentUser, Any, Any], db: Session, thread_id: int,
               data: bodies.Assign) -> dict[str, Any]:
        """Assign to a rep of this account (`{"assignee_id": id}`), to me (`"me"`), or unassign (`null`)."""
        thread = _thread(db, thread_id, request.user)
        if not isinstance(data, dict) or "assignee_id" not in data:
            raise ValidationError("assignee_id: required (a user id, \"me\" or null)")
        raw = data["assignee_id"]
        if raw == "me":
            raw = request.user.id
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
            raise ValidationError("assignee_id: a user id, \"me\" or null")
        if raw is not None and not id_in_range(User, raw):
            raise NotFoundException(f"assignee_id: no user {raw}")
        actions.assign(db, thread, raw, actor=_actor(db, request.user))
        db.commit()
        return _thread_out(db, thread)

    @post("/threads/{thread_id:int}/{action:str}", sync_to_thread=True, status_code=200)
    def act(self, request: Request[CurrentUser, Any, Any], db: Session, thread_id: int,
            action: str) -> dict[str, Any]:
        """escalate, de-escalate, resolve, reopen, take-over, hand-back, read."""
        thread = _thread(db, thread_id, request.user)
        if action == "read":
            actions.mark_read(db, thread)
        elif action in THREAD_ACTIONS:
            THREAD_ACTIONS[action](db, thread, actor=_actor(db, request.user))
        else:
            raise NotFoundException(f"no thread action {action!r}")
        db.commit()
        return _thread_out(db, thread)

    @get("/users", sync_to_thread=True)
    def users(self, request: Request[CurrentUser, Any, Any], db: Session) -> list[dict[str, Any]]:
        """The account's reps (for the assign menu)."""
        return [{"id": u.id, "name": u.name, "email": u.email, "role": u.role}
                for u in actions.account_users(db, request.user.account_id)]

    @get("/events", sync_to_thread=True)
    def events(self, request: Request[CurrentUser, Any, Any], db: Session,
               after: int = 0) -> list[dict[str, Any]]:
        """The account's logged events after `after` (what a reconnecting client missed)."""
        return events_since(db, request.user.account_id, min(max(after, 0), INT64_MAX))


def _previews(db: Session, thread_ids: list[int]) -> dict[int, str]:
    """The start of each thread's newest message, for the thread list (one query for the page)."""
    if not thread_ids:
        return {}
    newest = (select(func.max(Message.id)).where(Message.thread_id.in_(thread_ids))
              .group_by(Message.thread_id).scalar_subquery())
    rows = db.execute(select(Message.thread_id, Message.body, Message.attachments).where(Message.id.in_(newest)))
    return {tid: (body or ("[photo]" if attachments else ""))[:120] for tid, body, attachments in rows}


def _user_names(db: Session, account_id: int) -> dict[int, str]:
    return dict(db.execute(select(User.id, User.name).where(User.account_id == account_id)).tuples().all())


ROUTES: list[Any] = [InboxApi]
