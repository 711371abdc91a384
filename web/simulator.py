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

from core.db import utcnow
from core.settings import get_settings
from followups.models import Followup
from followups.service import followup_json
from followups.sessions import SessionEvent, session_abandoned
from inbox.accounts import ValidationError
from inbox.inbound import receive_sms
from inbox.models import Account, Contact, Event, Message, SendingNumber, Thread
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
    account = db.get_one(Account, request.user.account_id)
    # The account's clock, as in the inbox: one conversation shows one time on both screens.
    bootstrap = {"numbers": numbers, "last_event_id": last_event, "timezone": account.timezone,
                 "customer": f"+1415555{secrets.randbelow(9000) + 1000:04d}"}
    return Template("simulator.html", context=nav_context(request) | {"bootstrap": bootstrap})


@get("/simulator/conversation", sync_to_thread=True)
def conversation(request: Request[CurrentUser, Any, Any], db: Session, phone: str) -> dict[str, Any]:
    """What the customer's phone shows: every text between them and the business."""
    _dev_only()
    return _answer(db, request.user.account_id, _phone(phone, "phone"))


def _answer(db: Session, account_id: int, phone: str) -> dict[str, Any]:
    thread, messages = _conversation(db, account_id, phone)
    pending = []
    if thread is not None:
        # Follow-ups still to come, so a held one (quiet hours) is visible on the phone too.
        pending = [followup_json(f) for f in db.scalars(select(Followup).where(
            Followup.account_id == account_id, Followup.contact_id == thread.contact_id,
            Followup.status == "scheduled").order_by(Followup.due_at))]
    return {"thread_id": thread.id if thread else None, "messages": [message_json(m) for m in messages],
            "followups": pending}


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
    return _answer(db, request.user.account_id, from_)


@post("/simulator/abandon", sync_to_thread=True, status_code=201)
def abandon(request: Request[CurrentUser, Any, Any], db: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The customer starts booking online and gives up: what a scheduler's `session.abandoned` does."""
    _dev_only()
    if not isinstance(data, dict):
        raise ValidationError("send a JSON object with from (and optionally name, job_type)")
    phone = _phone(data.get("from"), "from")
    name, job_type = data.get("name") or None, data.get("job_type") or None
    if not all(v is None or isinstance(v, str) for v in (name, job_type)):
        raise ValidationError("name and job_type: text")
    ref = "sim_" + secrets.token_hex(6)
    event = SessionEvent(external_id=ref, type="session.abandoned", occurred_at=utcnow(), session_id=ref,
                         session_url=None, phone=phone, name=name, email=None, zip=None, job_type=job_type,
                         job_notes=None, job_id=None, starts_at=None)
    followup = session_abandoned(db, db.get_one(Account, request.user.account_id), event)
    db.commit()
    return _answer(db, request.user.account_id, phone) | {"followup": followup_json(followup) if followup else None}


ROUTES: list[Any] = [simulator_page, conversation, text_in, abandon]
