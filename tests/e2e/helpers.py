"""Shared steps for the browser tests: log in, send a signed scheduler event, pick a time zone."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.sync_api import expect

from inbox.models import Contact
from tests.factories import PASSWORD
from webhooks.scheduler import sign


def log_in(page: Any, email: str, path: str = "/inbox") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(path))
    expect(page.locator("#conn-state")).to_have_text("live")



def hold_requests(page: Any, matches: Callable[[str], bool]) -> list[Any]:
    """Hold back every request whose URL `matches` (the others go on), for `answer_late` to let through."""
    held: list[Any] = []
    page.route(matches, lambda route: held.append(route))
    return held


def answer_late(page: Any, route: Any) -> None:
    """Let a held request through, after what the test did meanwhile, and wait until the page has its answer."""
    with page.expect_response(lambda response: response.url == route.request.url) as late:
        route.continue_()
    late.value.finished()
    page.wait_for_timeout(300)  # the page's own handling of the answer

def zone_where_the_hour_is(hours: range) -> str:
    """A fixed-offset zone where the local hour is now in `hours` (so quiet hours are decided by the test)."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        if (now.hour + offset) % 24 in hours:
            # Etc/GMT zones have inverted signs: Etc/GMT-3 is UTC+3.
            return "Etc/GMT" + ("-" if offset > 0 else "+") + str(abs(offset)) if offset else "Etc/GMT"
    raise AssertionError(f"no zone has an hour in {hours}")


def customer(session: Any, tenant: Any, phone: str, zone: str, name: str = "Dana Reyes") -> Contact:
    contact = Contact(account_id=tenant.account.id, phone=phone, name=name, timezone=zone)
    session.add(contact)
    session.commit()
    return contact


def abandon_online(live_server: Any, tenant: Any, phone: str, ref: str) -> dict[str, Any]:
    """The business's scheduler reports that `phone` gave up booking (a signed session.abandoned)."""
    body = json.dumps({"id": f"evt_{ref}", "type": "session.abandoned",
                       "occurred_at": datetime.now(UTC).isoformat(), "session": {"id": ref},
                       "contact": {"name": "Dana Reyes", "phone": phone},
                       "job": {"type": "Water heater repair"}}).encode()
    now = str(int(time.time()))
    response = httpx.post(f"{live_server.url}/webhooks/scheduler", content=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Textdesk-Account": str(tenant.account.id),
        "X-Textdesk-Timestamp": now, "X-Textdesk-Signature": sign(tenant.account.webhook_secret, now, body)})
    assert response.status_code == 200, response.text
    return dict(response.json())
