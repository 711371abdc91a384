"""The phone simulator (dev provider only): a rep plays the customer, texting the account's number
through the real inbound pipeline, and sees every reply (follow-up, agent, rep) arrive live."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.settings import get_settings
from inbox.accounts import ValidationError
from inbox.inbound import receive_sms
from inbox.models import Contact, Event, Message, SendingNumber, Thread
from inbox.phones import InvalidPhone, display, to_e164
from inbox.serializers import message_json
from web.auth import CurrentUser
from web.pages import nav_context


def _dev_only() -> None:
    # With a real provider a fake inbound text would mix with real customers' threads.
    if get_settings().sms_provider != "dev":
        raise NotFoundException("the phone simulator exists only with the dev SMS provider")


def _numbers(db: Session, account_id: int) -> list[SendingNumber]:
    return list(db.scalars(select(SendingNumber).where(SendingNumber.account_id == account_id)
                           .order_by(SendingNumber.id)))


def _phone(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field}: required, a phone number")
    try:
        return to_e164(value)
    except InvalidPhone as exc:
        raise ValidationError(f"{field}: {exc}") from None


def _conversation(db: Session, account_id: int, phone: str) -> tuple[Thread | None, list[Message]]:
    contact = db.scalar(select(Contact).where(Contact.account_id == account_id, Contact.phone == phone))
    if contact is None:
        return None, []
    thread = db.scalar(select(Thread).where(Thread.account_id == account_id, Thread.contact_id == contact.id)
                       .order_by(Thread.id.desc()))
    if thread is None:
        return None, []
    messages = db.scalars(select(Message).where(Message.thread_id == thread.id).order_by(Message.id))
    return thread, list(messages)


@get("/simulator", sync_to_thread=True)
def simulator_page(request: Request[CurrentUser, Any, Any], db: Session) -> Template:
    """Pick a customer number and text the business."""
    _dev_only()


    numbers = [{"phone": n.phone, "display": display(n.phone)} for n in _numbers(db, request.user.account_id)]
    last_event = db.scalar(select(func.max(Event.id)).where(Event.account_id == request.user.account_id)) or 0
    bootstrap = {"numbers": numbers, "last_event_id": last_event,
                 "customer": f"+1415555{secrets.randbelow(9000) + 1000:04d}"}
    return Template("simulator.html", context=nav_context(request) | {"bootstrap": bootstrap})


@get("/simulator/conversation", sync_to_thread=True)
def conversation(request: Request[CurrentUser, Any, Any], db: Session, phone: str) -> dict[str, Any]:
    """What the customer's phone shows: every text between them and the business."""
    _dev_only()
    thread, messages = _conversation(db, request.user.account_id, _phone(phone, "phone"))
    return {"thread_id": thread.id if thread else None, "messages": [message_json(m) for m in messages]}


@post("/simulator/messages", sync_to_thread=True, status_code=201)
def text_in(request: Request[CurrentUser, Any, Any], db: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The customer texts one of the account's numbers; it goes through the real inbound pipeline."""

    _dev_only()
    if not isinstance(data, dict):
        raise ValidationError("send a JSON object with from, to and body")
    from_ = _phone(data.get("from"), "from")
    to = _phone(data.get("to"), "to")
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("body: the text is empty")
    if to not in {n.phone for n in _numbers(db, request.user.account_id)}:
        raise ValidationError(f"to: {to} is not one of this account's numbers")
    receive_sms(db, to=to, from_=from_, body=body, provider_sid="SMsim" + secrets.token_hex(14))
    db.commit()
    thread, messages = _conversation(db, request.user.account_id, from_)
    return {"thread_id": thread.id if thread else None, "messages": [message_json(m) for m in messages]}


ROUTES: list[Any] = [simulator_page, conversation, text_in]
