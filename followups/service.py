"""Follow-ups' state changes, and their reactions to what the inbox announces (`register` wires
them): a reply or an opt-out cancels the contact's pending follow-ups, in the same transaction as
the text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bookings.models import session_ref
from core import hooks
from core.db import utcnow
from followups.models import Followup
from inbox import events
from inbox.inbound import InboundResult
from inbox.models import Contact
from inbox.serializers import iso


def followup_json(followup: Followup) -> dict[str, Any]:
    """The API and event shape of a follow-up (docs/api.md, plus a few readable extras)."""
    return {
        "id": followup.id, "session_id": followup.session_id,
        "session_ref": session_ref(followup),
        "contact_id": followup.contact_id,
        "thread_id": followup.thread_id, "due_at": iso(followup.due_at), "status": followup.status,
        "variant": followup.variant, "mode": followup.mode, "block_reason": followup.block_reason,
        "detail": followup.detail, "cancelled_by": followup.cancelled_by,
        "sent_message_id": followup.sent_message_id, "sent_at": iso(followup.sent_at),
    }


def cancel(session: Session, followup: Followup, reason: str, detail: str | None = None) -> bool:
    """Cancel one scheduled follow-up; False (and no change) if it already left `scheduled`."""
    if followup.status != "scheduled":
        return False
    followup.status = "cancelled"
    followup.cancelled_by = reason
    followup.detail = detail
    followup.updated_at = utcnow()
    events.emit(session, followup.account_id, events.FOLLOWUP_UPDATED, followup_json(followup),
                thread_id=followup.thread_id)
    return True


def cancel_pending_for_contact(session: Session, account_id: int, contact_id: int, reason: str) -> int:
    """Cancel the contact's scheduled follow-ups in this transaction (reason: 'inbound_reply',
    'opt_out', 'csr', 'session_completed'); returns how many were cancelled."""
    rows = session.scalars(select(Followup).where(
        Followup.account_id == account_id, Followup.contact_id == contact_id, Followup.status == "scheduled"))
    return sum(cancel(session, f, reason) for f in rows)


# Built once: every inbound batch asks.
_SCHEDULED_FOR = select(Followup).where(Followup.contact_id.in_(bindparam("contact_ids", expanding=True)),
                                        Followup.status == "scheduled").order_by(Followup.id)


def on_texts_received(session: Session, *, received: list[InboundResult]) -> None:
    """Any text from the customer (a keyword too) means they are talking to us: no automated nudge."""
    rows = session.scalars(_SCHEDULED_FOR, {"contact_ids": list({r.contact.id for r in received})})
    for followup in rows:
        cancel(session, followup, "inbound_reply")


def on_opted_out(session: Session, *, contact: Contact, source: str) -> None:
    cancel_pending_for_contact(session, contact.account_id, contact.id, "opt_out")


def register() -> None:
    hooks.register(hooks.CONTACT_OPTED_OUT, on_opted_out)
    hooks.register(hooks.TEXTS_RECEIVED, on_texts_received)
