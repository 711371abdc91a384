"""On a phone (390 and 360 px): one pane at a time, nothing wider than the screen, thumb-sized
targets. Error pages in a browser are pages."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import log_in
from tests.factories import make_tenant

_sids = itertools.count(1)


def _phone_page(browser: Any, live_server: Any, width: int) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 800},
                                  has_touch=True, is_mobile=True, device_scale_factor=2)
    context.set_default_timeout(15000)
    return context


def _no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")


@pytest.mark.parametrize("width", [390, 360])
def test_phone_shows_list_then_thread_then_back_without_horizontal_scroll(browser, live_server, session,
                                                                         width: int) -> None:
    tenant = make_tenant(session)
    live_server.webhook_text(tenant.number.phone, "+14155550134", "Can someone come today? " * 4,
                             f"SMmobile{width}{next(_sids):020d}")
    context = _phone_page(browser, live_server, width)
    try:
        page = context.new_page()
        log_in(page, tenant.csr.email)
        expect(page.locator(".threads-pane")).to_be_visible()
        expect(page.locator(".thread-pane")).to_be_hidden()
        _no_horizontal_scroll(page)

        page.locator(".thread-row").first.click()
        expect(page.locator(".thread-pane")).to_be_visible()
        expect(page.locator(".threads-pane")).to_be_hidden()
        expect(page.locator("#timeline .msg.inbound")).to_have_count(1)
        _no_horizontal_scroll(page)
        for selector in ["#btn-back", "#send", "#btn-resolve", "#btn-contact", "#reply"]:
            box = page.locator(selector).bounding_box()
            assert box and box["height"] >= 44, (selector, box)

        page.click("#btn-contact")
        expect(page.locator("#contact-panel")).to_be_visible()
        expect(page.locator("#contact-line-type")).to_have_text("Line type: not checked yet")
        _no_horizontal_scroll(page)
        page.click("#btn-contact-back")
        expect(page.locator(".thread-pane")).to_be_visible()
        page.click("#btn-back")
        expect(page.locator(".threads-pane")).to_be_visible()
        expect(page.locator(".thread-pane")).to_be_hidden()
        row = page.locator(".thread-row").first.bounding_box()
        assert row and row["height"] >= 44
    finally:
        context.close()


def test_error_pages_are_pages_in_a_browser(new_page, session) -> None:
    tenant = make_tenant(session)
    page = new_page()
    response = page.goto("/no/such/page")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    log_in(page, tenant.csr.email)
    response = page.goto("/inbox/99999")
    assert response.status == 404
    expect(page.locator("#error-detail")).to_have_text("thread 99999 not found")
    response = page.goto("/settings")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("You do not have access to this page")
    response = page.goto("/l/not-a-real-link")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("This link does not work")
