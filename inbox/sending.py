"""The send gate: every outbound text (CSR reply, agent reply, follow-up, confirmation) goes
through `send_text`, which decides *send* or *blocked, because …* and stores that on the message.

INTERFACE (other packages code against these names; the texts-in-and-out issue implements them):
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from inbox.models import Contact, Message, Thread

# Block reason codes (CONTRACTS.md).
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"
INVALID_NUMBER = "invalid_number"
LANDLINE = "landline"
SENDER_NOT_REGISTERED = "sender_not_registered"
QUIET_HOURS = "quiet_hours"
DUPLICATE = "duplicate"


@dataclass
class Decision:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    detail: str | None = None
    # For quiet hours: when the text may go out instead (the recipient's 8:00 local).
    retry_at: datetime | None = None


def check_sendability(session: Session, contact: Contact, category: str = "transactional",
                      now: datetime | None = None, *, compliance_reply: bool = False) -> Decision:
    """Whether a text of `category` may go to `contact` now, and every reason it may not.

    `compliance_reply=True` is for the opt-out confirmation and the HELP answer, which carrier
    rules allow after an opt-out and at any hour.
    """
    raise NotImplementedError


def send_text(session: Session, thread: Thread, body: str, *, sender: str, category: str = "transactional",
              user_id: int | None = None, compliance_reply: bool = False,
              now: datetime | None = None) -> Message:
    """Store an outbound message with the gate's decision and, if allowed, hand it to the provider
    after commit (an RQ job). A blocked message is stored with status `blocked`, `decision`
    `blocked` and its `block_reason`; a message deferred by quiet hours is `queued` with `retry_at`.
    Emits `message.created` (and `thread.updated`). Never raises for a block: the caller reads
    `message.decision`.
    """
    raise NotImplementedError
