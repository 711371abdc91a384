"""Webhook endpoints: checking what an admin registers (a URL that must not reach into the business's
own network, known event names), their secrets, and the JSON the API shows of them.

`check_*` only validates; `create_endpoint` writes. The delivery job repeats the URL check at send
time, since a name that resolved to a public address when registered may not later.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from core.settings import get_settings
from inbox.serializers import iso
from integrations.models import WebhookDelivery, WebhookEndpoint

# The event names a business can subscribe to (README, "Outbound webhooks").
EVENTS = (
    "booking.created", "booking.rescheduled", "booking.cancelled",
    "contact.opted_out", "contact.opted_in", "thread.handed_off",
    "message.received", "message.status", "followup.sent",
)
MAX_URL = 2000


class EndpointInvalid(ValueError):
    """A field of an endpoint cannot be used; the message starts with the field's name."""


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def refusal(url: str) -> str | None:
    """Why `url` may not be called (its host is loopback, private, link-local or does not resolve), or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _addresses(host, port)
    except (OSError, ValueError, UnicodeError):
        return f"the host {host!r} does not resolve"
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None)
        address = mapped or address
        if not address.is_global or address.is_multicast:
            return (f"{host} is on a loopback, private or link-local network ({address}); textdesk only calls "
                    "public URLs unless TEXTDESK_WEBHOOKS_ALLOW_PRIVATE=1")
    return None


def check_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EndpointInvalid("url: required, an http(s) URL")
    url = value.strip()
    if len(url) > MAX_URL:
        raise EndpointInvalid(f"url: at most {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointInvalid("url: must start with http:// or https:// and name a host")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise EndpointInvalid("url: the port is not a number") from None
    if not get_settings().webhooks_allow_private:
        refused = refusal(url)
        if refused:
            raise EndpointInvalid(f"url: {refused}")
    return url


def check_events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise EndpointInvalid(f"events: required, a non-empty list of event names ({', '.join(EVENTS)})")
    for index, name in enumerate(value):
        if name not in EVENTS:
            raise EndpointInvalid(f"events[{index}]: unknown event {name!r}; one of {', '.join(EVENTS)}")
    return list(dict.fromkeys(value))  # order kept, repeats dropped


def create_endpoint(session: Session, account_id: int, data: Any) -> WebhookEndpoint:
    """Validate `{url, events}` and store an active endpoint with a new secret."""
    if not isinstance(data, dict):
        raise EndpointInvalid("body: a JSON object {url, events}")
    endpoint = WebhookEndpoint(account_id=account_id, url=check_url(data.get("url")),
                               events=check_events(data.get("events")), secret=new_secret(), active=True)
    session.add(endpoint)
    session.flush()
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, data: Any) -> WebhookEndpoint:
    """Change `active` and/or `events` (a new URL is a new endpoint, with a new secret)."""
    if not isinstance(data, dict):
        raise EndpointInvalid("body: a JSON object {active, events}")
    unknown = sorted(set(data) - {"active", "events"})
    if unknown:
        raise EndpointInvalid(f"{unknown[0]}: cannot be changed; remove the endpoint and add a new one")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise EndpointInvalid("active: true or false")
        endpoint.active = data["active"]
    if "events" in data:
        endpoint.events = check_events(data["events"])
    return endpoint


def endpoint_json(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """An endpoint as the API lists it; the secret only in the answer that created it."""
    shown = {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events or []),
             "active": endpoint.active, "created_at": iso(endpoint.created_at)}
    return shown | {"secret": endpoint.secret} if with_secret else shown


def delivery_json(row: WebhookDelivery) -> dict[str, Any]:
    return {"webhook_id": row.webhook_id, "type": row.type, "status": row.status, "attempt": row.attempt,
            "status_code": row.status_code, "error": row.error, "next_attempt_at": iso(row.next_attempt_at),
            "delivered_at": iso(row.delivered_at), "created_at": iso(row.created_at)}
