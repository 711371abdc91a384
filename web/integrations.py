"""Outbound webhooks in the JSON API and the admin's `/integrations` page (admins only, account-scoped).

The page reads and writes through the same API an integration script uses, so both see the same
field-named 422s.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, patch, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations import delivery
from integrations.endpoints import (
    EVENTS,
    EndpointInvalid,
    create_endpoint,
    delivery_json,
    endpoint_json,
    update_endpoint,
)
from integrations.models import WebhookDelivery, WebhookEndpoint
from web.auth import CurrentUser, admin_only, scoped
from web.pages import nav_context

BASE = "/api/v1/webhook-endpoints"


def _endpoints(db: Session, account_id: int) -> list[dict[str, Any]]:
    rows = db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)
                      .order_by(WebhookEndpoint.id))
    return [endpoint_json(e) for e in rows]


@post(BASE, guards=[admin_only], status_code=201, sync_to_thread=True)
def add_endpoint(request: Request[CurrentUser, Any, Any], data: Any, db: Session) -> dict[str, Any]:
    """Register `{url, events}`; the answer carries the signing secret, which is never shown again."""
    try:
        endpoint = create_endpoint(db, request.user.account_id, data)
    except EndpointInvalid as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    db.commit()
    return endpoint_json(endpoint, with_secret=True)


@get(BASE, guards=[admin_only], sync_to_thread=True)
def list_endpoints(request: Request[CurrentUser, Any, Any], db: Session) -> list[dict[str, Any]]:
    """The account's endpoints, without secrets."""
    return _endpoints(db, request.user.account_id)


@patch(f"{BASE}/{{endpoint_id:int}}", guards=[admin_only], sync_to_thread=True)
def change_endpoint(request: Request[CurrentUser, Any, Any], endpoint_id: int, data: Any,
                    db: Session) -> dict[str, Any]:
    """Pause or resume an endpoint (`active`), or change its `events`."""
    endpoint = scoped(db, WebhookEndpoint, endpoint_id, request.user)
    try:
        update_endpoint(endpoint, data)
    except EndpointInvalid as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    db.commit()
    return endpoint_json(endpoint)


@delete(f"{BASE}/{{endpoint_id:int}}", guards=[admin_only], status_code=200, sync_to_thread=True)
def remove_endpoint(request: Request[CurrentUser, Any, Any], endpoint_id: int, db: Session) -> list[dict[str, Any]]:
    """Remove an endpoint and its delivery log; the account's remaining endpoints."""
    db.delete(scoped(db, WebhookEndpoint, endpoint_id, request.user))
    db.commit()
    return _endpoints(db, request.user.account_id)


@get(f"{BASE}/{{endpoint_id:int}}/deliveries", guards=[admin_only], sync_to_thread=True)
def list_deliveries(request: Request[CurrentUser, Any, Any], endpoint_id: int, db: Session,
                    limit: int = 100) -> list[dict[str, Any]]:
    """The endpoint's delivery log, newest first."""
    if not 1 <= limit <= 1000:
        raise HTTPException(status_code=422, detail="limit: from 1 to 1000")
    scoped(db, WebhookEndpoint, endpoint_id, request.user)
    rows = db.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                      .order_by(WebhookDelivery.id.desc()).limit(limit))
    return [delivery_json(r) for r in rows]


@post(f"{BASE}/{{endpoint_id:int}}/deliveries/{{webhook_id:str}}/resend", guards=[admin_only], status_code=202,
      sync_to_thread=True)
def resend_delivery(request: Request[CurrentUser, Any, Any], endpoint_id: int, webhook_id: str,
                    db: Session) -> dict[str, Any]:
    """Send the same message again now (same webhook-id, so a receiver that has it can drop it)."""
    scoped(db, WebhookEndpoint, endpoint_id, request.user)
    row = db.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id,
                                                  WebhookDelivery.webhook_id == webhook_id))
    if row is None:
        raise NotFoundException(f"no delivery {webhook_id} for endpoint {endpoint_id}")
    delivery.resend(db, row)
    db.commit()
    return delivery_json(row)


@get("/integrations", guards=[admin_only], sync_to_thread=True, include_in_schema=False)
def integrations_page(request: Request[CurrentUser, Any, Any], db: Session) -> Template:
    """Webhook endpoints: add (secret shown once), remove, delivery log with resend."""
    return Template("integrations.html", context={**nav_context(request), "events": EVENTS,
                                                  "endpoints": _endpoints(db, request.user.account_id)})


ROUTES: list[Any] = [add_endpoint, list_endpoints, change_endpoint, remove_endpoint, list_deliveries, resend_delivery,
                     integrations_page]
