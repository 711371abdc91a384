"""The marketing double opt-in: a rep (or a web form) asks, the customer's YES confirms.

The request is a transactional text through the send gate, so an opted-out contact is not asked
and stays as they were; the YES is recognised by `inbox.compliance` and recorded by `inbox.consent`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from inbox.consent import record
from inbox.models import Account, Contact, Message, Thread
from inbox.sending import BLOCKED, send_text


def request_marketing_opt_in(
    session: Session, thread: Thread, *, user_id: int | None = None, now: datetime | None = None
) -> Message:
    """Send the double opt-in request ("Reply YES to get texts from …") and mark the contact pending.

    The request itself is a transactional text and goes through the send gate (so it is blocked
    for an opted-out contact, and the contact stays as they were).
    """

    contact = session.get(Contact, thread.contact_id)
    account = session.get(Account, thread.account_id)
    assert contact is not None and account is not None
    body = (
        f"Reply YES to get offers and reminders by text from {account.name}. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )
    message = send_text(
        session, thread, body, sender="csr" if user_id else "system", user_id=user_id, now=now
    )
    if message.decision != BLOCKED:
        contact.marketing_opt_in = "pending"
        record(
            session,
            contact,
            "opt_in_requested",
            source="csr" if user_id else "web_form",
            category="marketing",
            message_id=message.id,
            actor_user_id=user_id,
            now=now,
        )
    return message
