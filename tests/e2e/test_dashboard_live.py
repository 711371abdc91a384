"""The dashboard in a real browser: a tile moves live when a follow-up goes out, and the charts show."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from inbox.models import Account
from tests.e2e.helpers import log_in
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, post_event


def test_sent_today_tile_updates_live_when_a_follow_up_is_sent(new_page: Any, session: Any, live_server: Any) -> None:
    tenant = make_tenant(session)
    account = session.get(Account, tenant.account.id)
    account.followup_delay_seconds = 0  # due at once: the live server's worker sends it right away
    session.commit()
    daytime_contact(session, tenant)  # outside quiet hours wherever the wall clock is

    page = new_page()
    log_in(page, tenant.admin.email)
    page.goto("/dashboard")
    sent_today = page.locator('[data-tile="sent_today"]')
    expect(sent_today).to_have_text("0")
    expect(page.locator("#conn-state")).to_have_text("live")

    # Charts are inline SVG drawn by the server: the funnel's bars and the bookings lines' frame.
    expect(page.locator("svg#chart-funnel rect")).to_have_count(7)
    expect(page.locator("svg#chart-bookings")).to_be_visible()
    assert page.locator("svg#chart-funnel").bounding_box()["width"] > 200  # type: ignore[index]

    page.evaluate("window.sameDocument = true")  # gone if anything reloaded the page
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        response = post_event(http, tenant, event(id="evt_live", session_id="sess_live",
                                                  url="https://book.example.com/s/live"))
    assert response.status_code == 200, response.text
    # No reload: the websocket's followup.updated makes the page re-fetch its tiles.
    expect(sent_today).to_have_text("1", timeout=30000)
    assert page.evaluate("window.sameDocument === true")


def test_admin_sets_the_attribution_window_and_the_rule_on_the_page_follows(new_page: Any, session: Any) -> None:
    tenant = make_tenant(session)
    page = new_page()
    log_in(page, tenant.admin.email)
    page.goto("/dashboard")
    expect(page.locator("#attribution-rule")).to_contain_text("7 days")
    page.fill("input[name=attribution_window_days]", "10")
    page.click("#attribution-window button[type=submit]")
    expect(page.locator("#attribution-rule")).to_contain_text("10 days")
    page.fill("input[name=attribution_window_days]", "400")
    page.click("#attribution-window button[type=submit]")
    expect(page.locator("#window-status")).to_contain_text("from 1 to 90")
