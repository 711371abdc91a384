"""Saved replies: canned texts a rep inserts by typing `/name` in the reply box.

A body may use `{{ first_name }}`, `{{ business_name }}` and `{{ booking_time }}` (the syntax of
follow-up templates); the inbox fills them in for the open thread before the rep sends.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.accounts import ValidationError
from inbox.models import SavedReply
from inbox.serializers import iso

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
VARIABLES = ("first_name", "business_name", "booking_time")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
BODY_MAX = 1600


class NameTaken(ValidationError):
    """Another saved reply of the account has this name (a 409)."""


def saved_reply_json(reply: SavedReply) -> dict[str, Any]:
    return {"id": reply.id, "name": reply.name, "body": reply.body, "updated_at": iso(reply.updated_at)}


def check_name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value.strip()):
        raise ValidationError("name: 1 to 40 lowercase letters, digits, - or _, starting with a letter or digit "
                              "(a rep types /name)")
    return value.strip()


def check_body(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("body: required, the text of the reply")
    if len(value) > BODY_MAX:
        raise ValidationError(f"body: at most {BODY_MAX} characters")
    if "{%" in value or "{#" in value:
        raise ValidationError("body: only {{ variables }} are allowed, no {% %} or {# #} blocks")
    for match in _PLACEHOLDER.finditer(value):
        name = match.group(1).strip()
        if name not in VARIABLES:
            raise ValidationError(f"body: unknown variable {{{{ {name} }}}}; use "
                                  + ", ".join(f"{{{{ {v} }}}}" for v in VARIABLES))
    return value.strip()


def list_replies(session: Session, account_id: int) -> list[SavedReply]:
    return list(session.scalars(select(SavedReply).where(SavedReply.account_id == account_id)
                                .order_by(SavedReply.name)))


def _ensure_free(session: Session, account_id: int, name: str, own_id: int | None = None) -> None:
    taken = session.scalar(select(SavedReply.id).where(SavedReply.account_id == account_id, SavedReply.name == name))
    if taken is not None and taken != own_id:
        raise NameTaken(f"name: a saved reply called {name!r} already exists")


def create(session: Session, account_id: int, data: Any) -> SavedReply:
    if not isinstance(data, dict):
        raise ValidationError("send a JSON object with name and body")
    name, body = check_name(data.get("name")), check_body(data.get("body"))
    _ensure_free(session, account_id, name)
    reply = SavedReply(account_id=account_id, name=name, body=body)
    session.add(reply)
    session.flush()
    return reply


def update(session: Session, reply: SavedReply, data: Any) -> SavedReply:
    if not isinstance(data, dict) or not ({"name", "body"} & set(data)):
        raise ValidationError("send a JSON object with name and/or body")
    if "name" in data:
        name = check_name(data["name"])
        _ensure_free(session, reply.account_id, name, reply.id)
        reply.name = name
    if "body" in data:
        reply.body = check_body(data["body"])
    session.flush()
    return reply
