"""Handing a stored outbound message to the provider: an RQ job that sends a row at most once.

The job claims the row (`queued` → `sending`, only if it has no provider id) in its own
transaction before calling the provider, so two runs of the same job cannot both send it, and a
row with a provider id is never sent again. A 429 or 5xx from the provider puts the row back to
`queued` and lets RQ retry with backoff; an answer that may hide an accepted text (a timeout
after the request went out) fails the row rather than risk a double text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from core.db import session_scope, utcnow
from core.outbox import enqueue_after_commit
from core.queue import get_redis
from inbox import pacing
from inbox.models import Contact, Message, SendingNumber
from inbox.providers import ProviderError, SendResult, get_provider
from inbox.sending import (
    BLOCKED,
    DEFERRED,
    DELIVERY_JOB,
    DELIVERY_RETRY_INTERVALS,
    OPTED_OUT,
    delivery_job_id,
    enqueue_delivery,
    schedule_delivery,
)
from inbox.status import apply_pending, apply_status, emit_status, error_reason, kept_among

log = logging.getLogger(__name__)

# A worker sleeps for its number's pacing slot only this long; a later slot goes back to RQ.
MAX_PACING_SLEEP = 1.0
# Texts the provider took are recorded together, but none waits longer than this for it.
RECORD_EVERY = 1.0


class RetryableSendError(RuntimeError):
    """The provider did not accept the text this time; RQ tries again later."""


def _recheck(session: Session, message: Message) -> str:
    """What can have changed since the gate decided: the contact opted out, or a deferred text's
    hour has not come yet. Returns 'send', 'deferred' (re-enqueued for its hour) or 'blocked'."""
    contact = session.get(Contact, message.contact_id)
    assert contact is not None
    if contact.opted_out and not message.compliance:
        message.status, message.decision = "blocked", BLOCKED
        message.block_reason = OPTED_OUT
        message.block_detail = "the contact opted out of texts before it went out (they can text START to opt back in)"
        emit_status(session, message)
        return "blocked"
    if message.decision == DEFERRED and message.retry_at is not None and message.retry_at > utcnow():
        schedule_delivery(session, message)
        return "deferred"
    return "send"


def _claim(session: Session, message_id: int) -> datetime | None:
    """queued → sending, only for a row that was never handed to the provider; the claim's time, which
    the send checks again, or None if another run has it."""
    claimed_at = utcnow()
    result = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "queued", Message.provider_sid.is_(None))
        .values(status="sending", claimed_at=claimed_at)
        .execution_options(synchronize_session=False)
    )
    return claimed_at if result.rowcount == 1 else None  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """A text claimed (`sending`) by this run, with what its provider call needs once it committed."""

    message_id: int
    claimed_at: datetime
    slot_at: float | None  # its number's pacing slot, already reserved
    number: SendingNumber | None
    to: str
    from_: str | None
    body: str
    contact_id: int
    compliance: bool


def _claimed(message: Message, claimed_at: datetime, slot_at: float | None, number: SendingNumber | None) -> Claimed:
    return Claimed(message.id, claimed_at, slot_at, number, message.to_number or "", message.from_number,
                   message.body, message.contact_id, message.compliance)


def claim_for_sending(session: Session, message: Message, slot: pacing.Slot | None) -> Claimed | None:
    """For a job that just stored `message` (queued, allowed) in `session` and sends it itself once that
    commits, at `slot`, the turn it reserved on the message's number. A slot within MAX_PACING_SLEEP
    claims the row in this same transaction (`queued` → `sending`, so no other run can take it) and
    returns what `send_claimed` needs; a later slot puts the paced delivery job in this transaction's
    outbox instead and returns None, so the worker moves on rather than waiting for that turn. No slot
    (Redis was away): the delivery job, which the relay hands to RQ once Redis answers."""
    if slot is None:
        schedule_delivery(session, message)
        return None
    if slot.wait() > MAX_PACING_SLEEP:
        enqueue_after_commit(session, DELIVERY_JOB, message.id, slot.at, job_id=delivery_job_id(message.id, paced=True),
                             at=datetime.fromtimestamp(slot.at, UTC), retry=DELIVERY_RETRY_INTERVALS)
        return None
    claimed_at = utcnow()
    message.status, message.claimed_at = "sending", claimed_at  # stored by this job's own transaction
    emit_status(session, message)
    return _claimed(message, claimed_at, slot.at, slot.number)


def deliver_message(message_id: int, slot_at: float | None = None) -> dict[str, Any]:
    """RQ job: send one stored outbound message through the provider, at most once, within its
    number's messages-per-second (`slot_at`: a pacing slot an earlier run already reserved)."""
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None or message.direction != "outbound":
            return {"message_id": message_id, "result": "missing"}
        if message.provider_sid or message.status != "queued":
            return {"message_id": message_id, "result": f"skipped ({message.status})"}
        verdict = _recheck(session, message)
        if verdict != "send":
            return {"message_id": message_id, "result": verdict}
        number = _sending_number(session, message)
    if slot_at is None and number is not None:
        slot = pacing.reserve(get_redis(), [number])
        if slot is not None and slot.wait() > MAX_PACING_SLEEP:
            # Hold the slot and free the worker: the next run sends at that time without reserving again.
            enqueue_delivery(message_id, datetime.fromtimestamp(slot.at, UTC), slot.at, paced=True)
            return {"message_id": message_id, "result": "paced"}
        slot_at = slot.at if slot is not None else None
    if slot_at is not None:
        pacing.sleep_until(slot_at)
    with session_scope() as session:
        claimed_at = _claim(session, message_id)
        if claimed_at is None:
            return {"message_id": message_id, "result": "claimed elsewhere"}
        message = session.get(Message, message_id)
        assert message is not None
        emit_status(session, message)
        claimed = _claimed(message, claimed_at, None, number)
    return send_claimed([claimed])[0]


def send_claimed(texts: list[Claimed]) -> list[dict[str, Any]]:
    """Hand texts this run claimed (and committed) to the provider, in order, each at its slot, through its
    number's gate and under its contact's write lock; at most once each. What the provider answered is
    recorded for several texts at once, at least every RECORD_EVERY seconds. If one fails, the texts
    after it go back to RQ's delivery."""
    results: list[dict[str, Any]] = []
    accepted: list[tuple[Claimed, SendResult, datetime]] = []
    oldest = 0.0
    try:
        for done, text in enumerate(texts):
            try:
                outcome = _hand_to_provider(text)
            except BaseException:
                hand_back(texts[done + 1:])
                raise
            if isinstance(outcome, SendResult):
                oldest = oldest if accepted else time.monotonic()
                accepted.append((text, outcome, utcnow()))
                results.append({"message_id": text.message_id, "result": "sent", "provider_sid": outcome.sid})
            else:
                results.append(outcome)
            if accepted and time.monotonic() - oldest >= RECORD_EVERY:
                accepted = _record_accepted(accepted)
    finally:
        _record_accepted(accepted)
    return results


def _hand_to_provider(text: Claimed) -> SendResult | dict[str, Any]:
    """One provider call, at the text's slot and its number's turn, holding the contact's write lock from
    the opt-out look until the provider has answered: a STOP committed before is seen, and one arriving
    meanwhile waits until this text is out. The turn is taken under the lock, right before the call (a
    wait for room happens outside it). The provider's answer, or the outcome if it was not sent."""
    message_id, number = text.message_id, text.number
    if text.slot_at is not None:
        pacing.sleep_until(text.slot_at)
    service_sid = number.messaging_service_sid if number is not None else None
    provider = get_provider()  # built before the gate, so the call follows its turn at once
    while True:
        if number is not None:
            try:
                pacing.pass_gate(get_redis(), number)
            except TimeoutError:
                _release(message_id)  # nothing reached the provider: back to queued for RQ's retry
                raise
        with session_scope() as session:
            opted_out, ours = _lock_and_look(session, text)
            if opted_out and not text.compliance:
                _block_opted_out(session, message_id)
                return {"message_id": message_id, "result": "blocked"}
            if not ours:
                return {"message_id": message_id, "result": "claimed elsewhere"}
            if number is not None and not pacing.take_turn(get_redis(), number):
                continue  # another worker took the room: wait for it again, without the lock
            try:
                return provider.send(to=text.to, from_=text.from_, body=text.body, messaging_service_sid=service_sid)
            except ProviderError as exc:
                session.rollback()
                failure = exc
        return _failed(message_id, failure)


def _record_accepted(accepted: list[tuple[Claimed, SendResult, datetime]]) -> list[tuple[Claimed, SendResult, datetime]]:
    """Store the provider ids and statuses of texts the provider took, in one transaction (a worker that
    dies first leaves them `sending`, and recovery asks the provider); then apply any status callback
    that came before its id was stored. Each keeps the time the provider took it. Returns an empty list
    for the next ones."""
    if not accepted:
        return []
    with session_scope() as session:
        ids = [text.message_id for text, _, _ in accepted]
        messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(ids)))}
        # The status hooks name each text's contact: one read for all of them.
        session.scalars(select(Contact).where(Contact.id.in_({text.contact_id for text, _, _ in accepted}))).all()
        for text, result, taken_at in accepted:
            message = messages[text.message_id]
            message.provider_sid, message.decision = result.sid, "send"
            apply_status(session, message, result.status, now=taken_at)
    kept = kept_among([result.sid for _, result, _ in accepted])
    for text, result, _ in accepted:
        if result.sid in kept:
            _apply_late_callback(text.message_id)
        log.info("message %s sent as %s", text.message_id, result.sid)
    return []


def _apply_late_callback(message_id: int) -> None:
    """A status callback that came while the send's transaction was open found no row and was kept
    in Redis: apply it now that the provider id is committed. (One that comes after the look for
    kept callbacks finds the committed id itself.)"""
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is not None:
            apply_pending(session, message)


def _lock_and_look(session: Session, text: Claimed) -> tuple[bool, bool]:
    """Take the contact's write lock (a row lock on PostgreSQL, the write lock on SQLite), held until this
    transaction ends, and read in the same statement whether the contact is opted out now (a contact
    that is gone counts as opted out) and whether the text is still this run's: recovery may have
    handed a slow run's text to another worker meanwhile. Opting out writes the same row."""
    still_ours = exists().where(Message.id == text.message_id, Message.status == "sending",
                                Message.provider_sid.is_(None), Message.claimed_at == text.claimed_at)
    row = session.connection().execute(
        update(Contact).where(Contact.id == text.contact_id).values(opted_out=Contact.opted_out)
        .returning(Contact.opted_out, still_ours)).first()
    if row is None:  # the contact is gone: nothing to lock
        return True, bool(session.scalar(select(still_ours)))
    return bool(row[0]), bool(row[1])


def _block_opted_out(session: Session, message_id: int) -> None:
    message = session.get(Message, message_id)
    assert message is not None
    message.status, message.decision, message.block_reason = "blocked", BLOCKED, OPTED_OUT
    message.block_detail = "the contact opted out of texts just before it went out"
    emit_status(session, message)


def hand_back(claimed: list[Claimed]) -> None:
    """Texts a run claimed but will not send itself (it is failing): back to `queued`, each with its
    delivery job. If the database or Redis is away, recovery finds them later."""
    for text in claimed:
        try:
            _release(text.message_id)
            enqueue_delivery(text.message_id)
        except Exception:
            log.warning("message %s stays for recovery: it could not be handed back", text.message_id)


def _release(message_id: int) -> None:
    with session_scope() as session:
        session.execute(update(Message).where(Message.id == message_id, Message.status == "sending",
                                              Message.provider_sid.is_(None)).values(status="queued"))


def _sending_number(session: Session, message: Message) -> SendingNumber | None:
    if not message.from_number:
        return None
    return session.scalar(
        select(SendingNumber).where(
            SendingNumber.phone == message.from_number, SendingNumber.account_id == message.account_id
        )
    )


def _failed(message_id: int, exc: ProviderError) -> dict[str, Any]:
    job = get_current_job()
    will_retry = exc.retryable and job is not None and (job.retries_left or 0) > 0
    with session_scope() as session:
        message = session.get(Message, message_id)
        assert message is not None
        if will_retry:
            message.status = "queued"  # not accepted: the retry may send it
            message.error_message = f"Retrying: {exc.message}"
            emit_status(session, message)
        else:
            message.status = "sending"  # apply_status moves it forward to failed
            apply_status(session, message, "failed", exc.code)
            message.error_message = error_reason(exc.code, exc.message)
            if exc.retryable:
                message.error_message = f"The provider kept refusing the text: {exc.message}"
    if will_retry:
        raise RetryableSendError(f"message {message_id}: {exc.message}")
    log.warning("message %s failed: %s (code %s)", message_id, exc.message, exc.code)
    return {"message_id": message_id, "result": "failed", "error_code": exc.code}
