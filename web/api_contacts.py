"""`GET /api/v1/contacts/{id}/sendability`: could a text go to this contact now, and if not, why."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.connection import Request
from sqlalchemy.orm import Session

from inbox.accounts import ValidationError
from inbox.models import Contact
from inbox.sending import CATEGORIES, check_sendability
from inbox.serializers import iso
from web.auth import CurrentUser, scoped


@get("/api/v1/contacts/{contact_id:int}/sendability", sync_to_thread=True)
def sendability(
    request: Request[CurrentUser, Any, Any], db: Session, contact_id: int, category: str = "transactional"
) -> dict[str, Any]:
    """`{allowed, reasons, detail, retry_at, from_number}` for a text of `category` sent now."""
    if category not in CATEGORIES:
        raise ValidationError(f"category: must be one of {', '.join(CATEGORIES)}")
    contact: Contact = scoped(db, Contact, contact_id, request.user)
    decision = check_sendability(db, contact, category)
    return {
        "contact_id": contact.id,
        "category": category,
        "allowed": decision.allowed,
        "reasons": decision.reasons,
        "detail": decision.detail,
        "retry_at": iso(decision.retry_at),
        "from_number": decision.from_number,
    }


ROUTES: list[Any] = [sendability]
