"""Follow-up scheduling and cancelling (the follow-ups issue implements this module).

INTERFACE used by other packages:
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def cancel_pending_for_contact(session: Session, account_id: int, contact_id: int, reason: str) -> int:
    """Cancel the contact's scheduled follow-ups in this transaction (reason: 'inbound_reply',
    'opt_out', 'csr', 'session_completed'); returns how many were cancelled."""
    return 0
