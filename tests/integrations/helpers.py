"""Outbound webhook test data: a shop whose admin registered an endpoint, and a real booking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.calendar import BuiltinCalendar
from bookings.models import Booking, BookingSession
from core.settings import get_settings
from integrations.models import WebhookDelivery
from tests.agent.conftest import Shop, local, make_shop, next_weekday
from tests.factories import Tenant, make_tenant

HOOK_URL = "https://crm.example.com/hooks/textdesk"


@dataclass
class Integrated:
    tenant: Tenant
    shop: Shop
    endpoint: dict[str, Any]  # as POST /api/v1/webhook-endpoints answered it (with the secret)


def allow_private(monkeypatch: Any, allowed: bool = True) -> None:
    """Set TEXTDESK_WEBHOOKS_ALLOW_PRIVATE (or unset it) and have the settings read it afresh."""
    if allowed:
        monkeypatch.setenv("TEXTDESK_WEBHOOKS_ALLOW_PRIVATE", "1")
    else:
        monkeypatch.delenv("TEXTDESK_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    get_settings.cache_clear()


def integrated_shop(client: Any, session: Session, events: list[str] | None = None, url: str = HOOK_URL,
                    **tenant: Any) -> Integrated:
    """A tenant with job types and an agent thread, and an endpoint registered through the API."""
    owner = make_tenant(session, **tenant)
    shop = make_shop(session, owner.account)
    response = client.post("/api/v1/webhook-endpoints", headers=owner.auth,
                           json={"url": url, "events": events or ["booking.created"]})
    assert response.status_code == 201, response.text
    return Integrated(owner, shop, response.json())


def book(session: Session, shop: Shop, hour: int = 10, external_session: str | None = "sess_42") -> Booking:
    """The agent's calendar books Dana a water heater repair next Tuesday, from scheduler session `sess_42`."""
    session_id = None
    if external_session:
        booking_session = BookingSession(account_id=shop.account.id, external_id=external_session,
                                         contact_id=shop.contact.id, thread_id=shop.thread.id)
        session.add(booking_session)
        session.flush()
        session_id = booking_session.id
    booking = BuiltinCalendar().book(session, shop.account, shop.heater, local(next_weekday(1), hour),
                                     contact_id=shop.contact.id, thread_id=shop.thread.id, source="agent",
                                     session_id=session_id)
    session.commit()
    return booking


def deliveries(session: Session) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
