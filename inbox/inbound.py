"""An inbound text, from the provider's webhook (or the phone simulator) to the thread.

One transaction: find the account, drop a repeat delivery, recognise compliance keywords and
act on them (ledger, flags, confirmation) before anything else, store the message, update the
thread, then announce `hooks.TEXTS_RECEIVED` so its consumers react (follow-ups cancel, the agent
takes its turn). Events and jobs go out only after the caller commits. The webhook stores the texts
that arrive together in one transaction (`receive_texts`), each exactly as if it came alone.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core import hooks
from core.db import insert_rows, json_rows_insert, utcnow
from inbox import consent, events
from inbox.accounts import ValidationError
from inbox.compliance import HELP, OPT_IN, OPT_OUT, Intent, classify
from inbox.contacts import conversations_for
from inbox.models import Account, Contact, Message, SendingNumber, Thread
from inbox.phones import InvalidPhone, display, to_e164
from inbox.sending import segments_of, send_text
from inbox.serializers import message_json

log = logging.getLogger(__name__)

MAX_BODY = 1600


class UnknownRecipient(LookupError):
    """No account texts from the `To` number (or uses the Messaging Service)."""


InboundError = ValidationError | UnknownRecipient


@dataclass
class InboundResult:
    message: Message
    thread: Thread
    contact: Contact
    duplicate: bool = False
    # opt_out, opt_in, help, marketing_opt_in, or None for an ordinary message.
    compliance: str | None = None
    reply: Message | None = None


# Which account owns a number changes only when an admin adds or removes it; every inbound text asks.
ACCOUNT_CACHE_SECONDS = 30.0
_account_ids: dict[tuple[str, str | None], tuple[float, int]] = {}


def find_account(session: Session, to: str, messaging_service_sid: str | None = None) -> Account | None:
    """The account that owns the `To` number; else the one using the Messaging Service (cached briefly).

    A cached owner comes back as a reference that reads the account's row when one of its settings is
    first used: an ordinary text from a known customer needs only its id, and an admin's change still
    applies to the next text that does need the row (a keyword's reply, a new customer's time zone)."""
    key = (to, messaging_service_sid)
    cached = _account_ids.get(key)
    if cached is not None and time.monotonic() - cached[0] < ACCOUNT_CACHE_SECONDS:
        return _reference(session, cached[1])
    account = _lookup_account(session, to, messaging_service_sid)
    if account is not None:
        _account_ids[key] = (time.monotonic(), account.id)
    return account


def _reference(session: Session, account_id: int) -> Account:
    account = Account(id=account_id)
    make_transient_to_detached(account)  # unset columns now load on first access
    return session.merge(account, load=False)  # or the one this session already holds


def forget_accounts() -> None:
    """Drop the number → account cache (a number was added or removed, or tests emptied the tables)."""
    _account_ids.clear()


def _lookup_account(session: Session, to: str, messaging_service_sid: str | None) -> Account | None:
    number = session.scalar(select(SendingNumber).where(SendingNumber.phone == to))
    if number is not None:
        return session.get(Account, number.account_id)
    if messaging_service_sid:
        number = session.scalar(
            select(SendingNumber)
            .where(SendingNumber.messaging_service_sid == messaging_service_sid)
            .order_by(SendingNumber.id)
            .limit(1)
        )
        if number is not None:
            return session.get(Account, number.account_id)
        return session.scalar(
            select(Account).where(Account.messaging_service_sid == messaging_service_sid).limit(1)
        )
    return None


def _phone(raw: str, field: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhone as exc:
        raise ValidationError(f"{field}: {exc}") from None


def _existing(session: Session, provider_sid: str) -> Message | None:
    return session.scalar(select(Message).where(Message.provider_sid == provider_sid))


def _duplicate_result(session: Session, message: Message) -> InboundResult:
    thread = session.get(Thread, message.thread_id)
    contact = session.get(Contact, message.contact_id)
    assert thread is not None and contact is not None
    return InboundResult(message=message, thread=thread, contact=contact, duplicate=True)


@dataclass
class InboundText:
    """One inbound text as the webhook parsed it (`now`: when it arrived, if not now)."""

    to: str
    from_: str
    body: str
    provider_sid: str
    media: Iterable[dict[str, str]] = ()
    messaging_service_sid: str | None = None
    opt_out_type: str | None = None
    now: datetime | None = None


def receive_sms(session: Session, **fields: Any) -> InboundResult:
    """Store one inbound text and act on it (see the module docstring). The caller commits.

    Raises ValidationError for a malformed field (named in the message) and UnknownRecipient
    when no account texts from `to`. A repeat `provider_sid` returns the stored message with
    `duplicate=True` and changes nothing.
    """
    [result] = receive_texts(session, [InboundText(**fields)])
    if isinstance(result, Exception):
        raise result
    return result


def receive_texts(session: Session, texts: list[InboundText]) -> list[InboundResult | InboundError]:
    """Store several inbound texts in one transaction, in arrival order, each as `receive_sms` would;
    each text's result or the error that refused it alone. The caller commits.

    Everything a batch needs is read together: the contacts, their latest threads, and the texts
    stored in one INSERT that skips a MessageSid already stored (no look-up first, no savepoint).
    """
    results: list[InboundResult | InboundError | None] = [None] * len(texts)
    checked: list[tuple[int, InboundText, Account]] = []
    accounts: dict[tuple[str, str | None], Account | None] = {}  # a batch's texts are mostly to one number
    for i, text in enumerate(texts):
        try:
            checked.append((i, *_checked(session, text, accounts)))
        except (ValidationError, UnknownRecipient) as exc:
            results[i] = exc
    by_account: dict[int, tuple[Account, set[str]]] = {}
    for _, text, account in checked:
        by_account.setdefault(account.id, (account, set()))[1].add(text.from_)
    conversations = {(account.id, phone): conversation for account, phones in by_account.values()
                     for phone, conversation in conversations_for(session, account, phones).items()}
    rows: list[dict[str, Any]] = []
    for _, text, account in checked:
        contact, thread = conversations[(account.id, text.from_)]
        rows.append({"account_id": account.id, "thread_id": thread.id, "contact_id": contact.id,
                     "direction": "inbound", "sender": "customer", "body": text.body, "from_number": text.from_,
                     "to_number": text.to, "provider_sid": text.provider_sid, "status": "received",
                     "attachments": list(text.media), "segments": segments_of(text.body),
                     "created_at": text.now or utcnow()})
    stored = _store(session, rows)
    received: list[InboundResult] = []
    for (i, text, account), row in zip(checked, rows, strict=True):
        message = stored.pop(text.provider_sid, None)  # a MessageSid twice in the batch: the second is a repeat
        if message is None:
            existing = _existing(session, text.provider_sid)
            assert existing is not None
            results[i] = _duplicate_result(session, existing)
            continue
        contact, thread = conversations[(account.id, text.from_)]
        _touch(thread, row["created_at"])
        events.emit(session, account.id, events.MESSAGE_CREATED, message_json(message), thread_id=thread.id)
        result = results[i] = InboundResult(message=message, thread=thread, contact=contact)
        # Compliance first: before routing, before the agent.
        _apply_compliance(session, account, contact, thread, message, classify(text.body, text.opt_out_type),
                          result, row["created_at"])
        received.append(result)
    _save_touched(session, received)
    if received:
        # Then whoever acts on texts (follow-ups, the agent) reacts, in this transaction.
        hooks.announce(session, hooks.TEXTS_RECEIVED, received=received)
        for result in {r.thread.id: r for r in received}.values():  # each thread once, as it now stands
            events.thread_changed(session, result.thread, result.contact)
    return [r for r in results if r is not None]


def _checked(session: Session, text: InboundText,
             accounts: dict[tuple[str, str | None], Account | None]) -> tuple[InboundText, Account]:
    """The text with its fields normalised, and the account it is for; or why it cannot be stored."""
    if not text.provider_sid:
        raise ValidationError("MessageSid: is required")
    body = text.body.replace("\x00", "")  # no database stores NUL in text, and no person types it
    if len(body) > MAX_BODY:
        raise ValidationError(f"Body: is {len(body)} characters; at most {MAX_BODY}")
    to, from_ = _phone(text.to, "To"), _phone(text.from_, "From")
    key = (to, text.messaging_service_sid)
    if key not in accounts:
        accounts[key] = find_account(session, to, text.messaging_service_sid)
    account = accounts[key]
    if account is None:
        log.warning("inbound text %s to %s (service %s): no account uses that number",
                    text.provider_sid, to, text.messaging_service_sid)
        raise UnknownRecipient(f"no account texts from {to}"
                               + (f" or uses {text.messaging_service_sid}" if text.messaging_service_sid else ""))
    return replace(text, body=body, to=to, from_=from_), account


def _store(session: Session, rows: list[dict[str, Any]]) -> dict[str, Message]:
    """Insert the texts in one statement; the ones stored, by MessageSid (a repeat is skipped)."""
    if not rows:
        return {}
    return {m.provider_sid or "": m for m in insert_rows(session, _STORE_POSTGRES, _STORE_SQLITE, rows)}


# Built once: every inbound batch runs one of them.
_MESSAGES = Message.metadata.tables[Message.__tablename__]
_STORE_POSTGRES = select(Message).from_statement(
    json_rows_insert(_MESSAGES, ["account_id", "thread_id", "contact_id", "direction", "sender", "body", "from_number",
                              "to_number", "provider_sid", "status", "attachments", "segments", "created_at"])
    .on_conflict_do_nothing(index_elements=["provider_sid"]).returning(*_MESSAGES.c))
_STORE_SQLITE = sqlite.insert(Message).on_conflict_do_nothing(index_elements=["provider_sid"]).returning(Message)


def _touch(thread: Thread, at: datetime) -> None:
    """A customer's text reopens the thread and moves its latest activity forward (its unread count is
    raised by `_save_touched`)."""
    if thread.status in ("resolved", "snoozed"):
        thread.status = "open"
    # A text kept while the database was away is stored later with the time it arrived: it never
    # moves the thread's latest activity back behind a newer message.
    if thread.last_message_at is None or thread.last_message_at < at:
        thread.last_message_at = at


def _save_touched(session: Session, received: list[InboundResult]) -> None:
    """The threads the texts touched, in one statement: their status and latest activity as the texts
    left them, and each unread count raised by its texts in the database itself, so that a rep's
    mark-read or another web process's text in between is kept, not overwritten by what this batch read."""
    if not received:
        return
    texts_per_thread = Counter(r.thread.id for r in received)
    touched = [(thread, texts_per_thread[thread.id]) for thread in {r.thread.id: r.thread for r in received}.values()]
    now = utcnow()
    with session.no_autoflush:  # the ORM would write the same rows first
        session.execute(_SAVE_TOUCHED, [{"thread": thread.id, "new_status": thread.status,
                                         "latest": thread.last_message_at, "now": now, "added": added}
                                        for thread, added in touched])
    for thread, added in touched:  # the objects now match their rows: nothing left for the ORM to flush
        for key, value in (("status", thread.status), ("last_message_at", thread.last_message_at),
                           ("updated_at", now), ("unread_count", (thread.unread_count or 0) + added)):
            set_committed_value(thread, key, value)


_THREADS = Thread.metadata.tables[Thread.__tablename__]
_SAVE_TOUCHED = update(_THREADS).where(_THREADS.c.id == bindparam("thread")).values(
    status=bindparam("new_status"), last_message_at=bindparam("latest"), updated_at=bindparam("now"),
    unread_count=_THREADS.c.unread_count + bindparam("added"))  # built once


def _reach(account: Account, to: str) -> str:
    return display(account.contact_phone or to)


def _apply_compliance(
    session: Session,
    account: Account,
    contact: Contact,
    thread: Thread,
    message: Message,
    intent: Intent | None,
    result: InboundResult,
    now: datetime,
) -> None:
    if intent is None:
        return
    source = intent.source
    # The provider answers keywords itself (Twilio Advanced Opt-Out); plain language is ours to answer.
    provider_answers = account.provider_handles_opt_out and source in ("keyword", "provider")
    reply: str | None = None
    if intent.kind == OPT_OUT:
        already = contact.opted_out
        consent.opt_out(session, contact, source=source, raw_text=message.body, message_id=message.id)
        thread.status = "resolved"
        if thread.owner == "agent":
            thread.owner, thread.handoff_reason = "none", "The customer opted out of texts."
        result.compliance = OPT_OUT
        if not already:
            reply = (
                f"{account.name}: you're unsubscribed and will get no more texts from us. "
                "Reply START to resubscribe."
            )
            if intent.keyword == "CANCEL":
                # Carrier rules make CANCEL an opt-out even when the customer meant the appointment.
                reply += (
                    f" To change or cancel a booking, call us at {_reach(account, message.to_number or '')}."
                )
    elif intent.kind == OPT_IN:
        if intent.keyword == "YES" and source == "keyword" and not contact.opted_out:
            if consent.pending_marketing_request(session, contact, now) is None:
                return  # "Does 3pm work?" — "Yes": an ordinary reply
            consent.confirm_marketing(session, contact, raw_text=message.body, message_id=message.id, now=now)
            result.compliance = "marketing_opt_in"
            provider_answers = False  # our own double opt-in: Twilio does not know about it
            reply = (
                f"{account.name}: thanks, you'll get our offers and reminders by text. Reply STOP to opt out."
            )
        else:
            consent.opt_in(session, contact, source=source, raw_text=message.body, message_id=message.id)
            result.compliance = OPT_IN
            reply = (
                f"{account.name}: you're subscribed to our texts again. Reply HELP for help, STOP to opt out."
            )
    elif intent.kind == HELP:
        consent.record(session, contact, "help", source=source, raw_text=message.body, message_id=message.id)
        result.compliance = HELP
        reply = (
            f"{account.name}: for help, call us at {_reach(account, message.to_number or '')} or reply to "
            "this text. Msg & data rates may apply. Reply STOP to opt out."
        )
    if reply and not provider_answers:
        result.reply = send_text(session, thread, reply, sender="system", compliance_reply=True, now=now)
