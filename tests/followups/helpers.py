"""Signed scheduler events and time helpers for follow-up tests."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.db import utcnow
from inbox.models import Contact
from tests.factories import Tenant
from webhooks.scheduler import sign

# Spread around the globe so that, whatever the wall clock, one of them is in daytime.
_ZONES = ("Pacific/Honolulu", "America/Los_Angeles", "America/New_York", "Atlantic/Reykjavik", "Europe/Berlin",
          "Asia/Dubai", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland")


def daytime_zone(now: datetime | None = None) -> str:
    """A time zone where it is between 10:00 and 19:00 now (outside quiet hours, with margin)."""
    now = now or utcnow()
    return next(z for z in _ZONES if 10 <= now.astimezone(ZoneInfo(z)).hour < 19)


def event(type: str = "session.abandoned", *, id: str = "evt_1", session_id: str = "sess_42",
          phone: str = "(415) 555-0134", name: str | None = "Dana Reyes", occurred_at: datetime | None = None,
          url: str | None = None, job_type: str | None = "Water heater repair", **extra: Any) -> dict[str, Any]:
    occurred = occurred_at or utcnow()
    body: dict[str, Any] = {
        "id": id, "type": type, "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "session": {"id": session_id, **({"url": url} if url else {})},
        "contact": {"name": name, "phone": phone, "email": "dana@example.com", "zip": "94110"},
        "job": {"type": job_type, "notes": "no hot water"},
    }
    body.update(extra)
    return body


def post_event(client: Any, tenant: Tenant, body: dict[str, Any] | bytes, *, timestamp: int | None = None,
               secret: str | None = None, account_id: Any = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"X-Textdesk-Account": str(tenant.account.id if account_id is None else account_id),
               "X-Textdesk-Timestamp": str(ts),
               "X-Textdesk-Signature": sign(secret or tenant.account.webhook_secret, ts, raw),
               "Content-Type": "application/json"}
    return client.post("/webhooks/scheduler", content=raw, headers=headers)


def daytime_contact(session: Session, tenant: Tenant, phone: str = "+14155550134", name: str = "Dana Reyes") -> Contact:
    """A contact whose local time is daytime now, so tests that run the worker on the wall clock are not
    deferred by quiet hours."""
    contact = Contact(account_id=tenant.account.id, phone=phone, name=name, timezone=daytime_zone())
    session.add(contact)
    session.commit()
    return contact


def past_due(tenant: Tenant, seconds: int = 5) -> datetime:
    """An `occurred_at` whose follow-up is already due by the wall clock (the worker's scheduler uses it)."""
    return utcnow() - timedelta(seconds=900 + seconds)
