"""Snoozing a thread from the inbox: until a time, or until the customer replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, post
from sqlalchemy.orm import Session

from inbox import threads as actions
from inbox.accounts import ValidationError
from inbox.models import Contact, Thread, User
from inbox.serializers import thread_json
from web import openapi_bodies as bodies
from web.auth import CurrentUser, scoped


def _until(data: Any) -> datetime | None:
    if not isinstance(data, dict) or "until" not in data:
        raise ValidationError('until: required, an ISO 8601 time with an offset, or null for "until they reply"')
    raw = data["until"]
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"until: {str(raw)[:40]!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ValidationError("until: give a time zone offset (e.g. 2026-11-24T08:00:00-08:00 or …Z)")
    return value.astimezone(UTC)


def _answer(db: Session, thread: Thread) -> dict[str, Any]:
    contact = db.get(Contact, thread.contact_id)
    assert contact is not None
    return thread_json(thread, contact)


@post("/api/v1/threads/{thread_id:int}/snooze", sync_to_thread=True, status_code=200)
def snooze(request: Request[CurrentUser, Any, Any], db: Session, thread_id: int,
           data: bodies.Snooze) -> dict[str, Any]:
    """`{"until": ISO time}` or `{"until": null}` (until the customer replies); a text from them always wakes it."""
    thread: Thread = scoped(db, Thread, thread_id, request.user)
    actions.snooze(db, thread, _until(data), actor=db.get_one(User, request.user.id))
    db.commit()
    return _answer(db, thread)


@post("/api/v1/threads/{thread_id:int}/unsnooze", sync_to_thread=True, status_code=200)
def unsnooze(request: Request[CurrentUser, Any, Any], db: Session, thread_id: int) -> dict[str, Any]:
    """Back to open now."""
    thread: Thread = scoped(db, Thread, thread_id, request.user)
    actions.unsnooze(db, thread, actor=db.get_one(User, request.user.id))
    db.commit()
    return _answer(db, thread)


ROUTES: list[Any] = [snooze, unsnooze]
