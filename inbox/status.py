"""Delivery status: a forward-only state machine fed by the provider, and plain-language reasons
for its error codes.

queued → sending → sent → delivered, or undelivered / failed (final). Callbacks arrive out of
order, so a status only replaces one of lower rank: a late `sent` never overwrites `delivered`.
A callback for a text whose provider id is not stored yet (the provider answered the callback
before our send transaction committed) is kept in Redis and applied when the id is stored.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import hooks
from core.db import utcnow
from core.queue import get_redis
from inbox import consent, events
from inbox.models import Contact, Message
from inbox.serializers import message_json

log = logging.getLogger(__name__)

RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}
# Twilio's MessageStatus values → textdesk's.
PROVIDER_STATUS = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
OPTED_OUT_CODE = "21610"
INVALID_NUMBER_CODES = ("21211", "21614")
ERROR_REASONS = {
    "21211": "The number is not a valid phone number.",
    "21408": "Texts to this country are not enabled on the sending account.",
    "21610": "The recipient has opted out (they replied STOP to this number).",
    "21612": "The sending number cannot text this recipient.",
    "21614": "The number is not a mobile number and cannot receive texts.",
    "30001": "The provider's queue was full; the text was not sent.",
    "30002": "The provider account is suspended.",
    "30003": "The recipient's phone is switched off or out of coverage.",
    "30004": "The recipient has blocked texts from this number.",
    "30005": "The number does not exist or is no longer in service.",
    "30006": "The number is a landline or cannot receive texts.",
    "30007": "The carrier filtered the text as spam; check the sender's registration and the wording.",
    "30008": "The carrier did not deliver the text and gave no reason.",
    "30032": "The sending toll-free number is not verified.",
    "30034": "The sending number is not registered for A2P 10DLC texting.",
}
PENDING_TTL_SECONDS = 86400


def error_reason(code: str | None, fallback: str | None = None) -> str | None:
    """A sentence a CSR understands for a provider error code."""
    if code is None:
        return fallback
    return ERROR_REASONS.get(str(code), fallback or f"The provider reported error {code}.")


def apply_status(
    session: Session,
    message: Message,
    status: str,
    error_code: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Move `message` to `status` if that is forward; emit `message.status`. False when ignored."""
    if message.status not in RANK or RANK[status] <= RANK[message.status]:
        return False
    now = now or utcnow()
    message.status = status
    if status == "sent" and message.sent_at is None:
        message.sent_at = now
    if status == "delivered":
        message.delivered_at = now
        message.sent_at = message.sent_at or now
    if status in ("undelivered", "failed") and error_code:
        message.error_code = str(error_code)
        message.error_message = error_reason(str(error_code))
        _carrier_consequences(session, message, str(error_code))
    emit_status(session, message)  # no flush: a batch of texts' changes goes out in one statement at commit
    return True


def emit_status(session: Session, message: Message) -> None:
    """Tell the account's browsers where a text stands now (after commit)."""
    events.emit(
        session,
        message.account_id,
        events.MESSAGE_STATUS,
        {**message_json(message), "message_id": message.id},
        thread_id=message.thread_id,
    )
    hooks.announce(session, hooks.MESSAGE_STATUS, message=message)


def _carrier_consequences(session: Session, message: Message, code: str) -> None:
    """What a failed text teaches about the contact: opted out at the carrier, or not a valid number."""
    contact = session.get(Contact, message.contact_id)
    if contact is None:
        return
    if code == OPTED_OUT_CODE and not contact.opted_out:
        consent.opt_out(session, contact, source="provider", raw_text=f"provider error {code}", message_id=message.id)
    elif code in INVALID_NUMBER_CODES:
        contact.line_type = "invalid" if code == "21211" else "landline"


def _pending_key(provider_sid: str) -> str:
    return f"textdesk:pending-status:{provider_sid}"


def handle_callback(
    session: Session,
    provider_sid: str,
    provider_status: str,
    error_code: str | None = None,
    now: datetime | None = None,
) -> Message | None:
    """A status callback: apply it to the message with that provider id, or keep it for later."""
    status = PROVIDER_STATUS.get(provider_status.lower())
    if status is None:
        log.info("ignoring status %r for %s", provider_status, provider_sid)
        return None
    message = session.scalar(select(Message).where(Message.provider_sid == provider_sid))
    if message is None:
        _remember(provider_sid, status, error_code)
        # The send may have committed its id, and looked for kept callbacks, since the look above:
        # look again in a fresh snapshot (nothing was written here), so one of the two applies it.
        session.commit()
        message = session.scalar(select(Message).where(Message.provider_sid == provider_sid))
        if message is not None:
            apply_pending(session, message)
        return message
    apply_status(session, message, status, error_code, now)
    return message


def _remember(provider_sid: str, status: str, error_code: str | None) -> None:
    redis = get_redis()
    key = _pending_key(provider_sid)
    raw = redis.get(key)
    best = json.loads(raw) if raw else None
    if best is None or RANK[status] > RANK[best["status"]]:
        redis.set(key, json.dumps({"status": status, "error_code": error_code}), ex=PENDING_TTL_SECONDS)
    log.info("status %s for unknown %s kept until its send is recorded", status, provider_sid)


def kept_among(provider_sids: list[str]) -> set[str]:
    """Which of these provider ids have a callback kept, waiting for their send to be recorded (one
    Redis round trip for a batch of sends)."""
    if not provider_sids:
        return set()
    found = get_redis().mget([_pending_key(sid) for sid in provider_sids])
    return {sid for sid, raw in zip(provider_sids, found, strict=True) if raw is not None}


def apply_pending(session: Session, message: Message) -> None:
    """Apply a callback that arrived before `message.provider_sid` was stored."""
    if not message.provider_sid:
        return
    raw = get_redis().getdel(_pending_key(message.provider_sid))
    if raw:
        data = json.loads(raw)
        apply_status(session, message, data["status"], data.get("error_code"))
