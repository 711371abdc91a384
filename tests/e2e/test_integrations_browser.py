"""The integrations page in a real browser: an admin adds an endpoint (the secret is shown once), a
booking reaches a real receiver signed, the delivery log shows it, and Resend sends it again."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from tests.agent.conftest import make_shop
from tests.e2e.helpers import log_in
from tests.factories import make_tenant
from tests.integrations.helpers import book, deliveries


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/textdesk"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the name http.server calls
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_admin_adds_an_endpoint_sees_the_delivery_and_resends_it(new_page: Any, session: Any,
                                                                  receiver: Receiver) -> None:
    tenant = make_tenant(session)
    shop = make_shop(session, tenant.account)
    page = new_page()
    log_in(page, tenant.admin.email)
    page.click("nav >> text=Integrations")
    expect(page).to_have_url(re.compile(r"/integrations"))

    page.fill("input[name=url]", receiver.url)
    page.click("#add-endpoint button[type=submit]")
    secret_box = page.locator("#secret-value")
    expect(secret_box).to_have_text(re.compile(r"^whsec_"))
    secret = secret_box.inner_text()
    page.click("#secret-done")
    expect(page.locator("#new-secret")).to_be_hidden()
    row = page.locator(".endpoint").first
    expect(row.locator(".url")).to_have_text(receiver.url)
    page.reload()
    assert secret not in page.content()  # shown once, never again

    book(session, shop)  # the live server's worker delivers it
    for _ in range(100):
        if receiver.received:
            break
        page.wait_for_timeout(100)
    headers, body = receiver.received[0]
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "booking.created" and event["data"]["session_ref"] == "sess_42"

    for _ in range(100):  # the worker records the answer just after the receiver has it
        if [r.status for r in deliveries(session)] == ["delivered"]:
            break
        page.wait_for_timeout(100)
    row = page.locator(".endpoint").first
    row.locator(".show-log").click()
    log_row = row.locator(f'tr[data-webhook-id="{headers["webhook-id"]}"]')
    expect(log_row).to_contain_text("delivered")
    expect(log_row).to_contain_text("204")
    log_row.locator("button.resend").click()
    for _ in range(100):
        if len(receiver.received) >= 2:
            break
        page.wait_for_timeout(100)
    assert [h["webhook-id"] for h, _ in receiver.received] == [headers["webhook-id"]] * 2
    Webhook(secret).verify(receiver.received[1][1], receiver.received[1][0])

    row.locator("button.toggle").click()
    expect(page.locator(".endpoint .paused").first).to_be_visible()
    expect(page.locator(".endpoint button.toggle").first).to_have_text("Resume")

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator(".endpoint button.remove").first.click()
    expect(page.locator("#no-endpoints")).to_be_visible()
