"""Follow-ups a person can watch: the simulator shows one arrive live; the thread shows it due, held
for quiet hours (and why), live, and a rep cancels it there."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from followups.models import Followup
from inbox.models import Thread
from tests.e2e.helpers import abandon_online, customer, log_in, zone_where_the_hour_is
from tests.factories import make_tenant

PHONE = "+14155550142"


def _no_delay(session: Any, tenant: Any) -> None:
    tenant.account.followup_delay_seconds = 0
    session.commit()


def test_simulator_shows_a_follow_up_arrive_live_for_a_new_customer(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _no_delay(session, tenant)
    customer(session, tenant, PHONE, zone_where_the_hour_is(range(10, 19)))
    page = new_page()
    log_in(page, tenant.csr.email, "/simulator")
    page.fill("#sim-from", PHONE)
    page.dispatch_event("#sim-from", "change")
    page.evaluate("window.__sameDocument = true")
    abandon_online(live_server, tenant, PHONE, "sim1")
    arrived = page.locator("#sim-timeline .msg .body").first
    expect(arrived).to_contain_text("/l/", timeout=20000)  # the tracked booking link
    expect(page.locator("#sim-timeline .msg .who").first).to_have_text("Business")
    assert page.evaluate("window.__sameDocument") is True


def test_simulator_button_plays_an_abandoned_booking_and_shows_the_follow_up(new_page, session) -> None:
    tenant = make_tenant(session)
    _no_delay(session, tenant)
    customer(session, tenant, PHONE, zone_where_the_hour_is(range(10, 19)))
    page = new_page()
    log_in(page, tenant.csr.email, "/simulator")
    page.fill("#sim-from", PHONE)
    page.dispatch_event("#sim-from", "change")
    page.click("#sim-abandon")
    expect(page.locator("#sim-timeline .msg .body").first).to_contain_text("/l/", timeout=20000)


def test_thread_shows_a_follow_up_held_for_quiet_hours_and_why_live(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _no_delay(session, tenant)
    contact = customer(session, tenant, PHONE, zone_where_the_hour_is(range(1, 6)))
    thread = Thread(account_id=tenant.account.id, contact_id=contact.id, status="open", owner="none")
    session.add(thread)
    session.commit()
    page = new_page()
    log_in(page, tenant.csr.email, f"/inbox/{thread.id}")
    expect(page.locator("#thread-view")).to_be_visible()
    # Where quiet hours bite a rep too: a first text to this customer now would be held back.
    expect(page.locator("#quiet-hours")).to_contain_text("Quiet hours for this customer")
    expect(page.locator("#quiet-hours")).to_contain_text("texts go out 8:00–21:00 their time")
    abandon_online(live_server, tenant, PHONE, "night1")
    card = page.locator("#thread-followups .followup-card").first
    expect(card.locator(".explain")).to_contain_text("Held for quiet hours", timeout=20000)
    expect(card.locator(".explain")).to_contain_text("8:00")
    expect(card).to_contain_text("link")  # its mode

    card.locator(".cancel-followup").click()
    expect(card.locator(".explain")).to_contain_text("Cancelled: a rep cancelled it")
    session.expire_all()
    assert session.scalar(select(Followup.status).where(Followup.contact_id == contact.id)) == "cancelled"


def test_simulator_enter_sends_as_the_customer(new_page, session) -> None:
    tenant = make_tenant(session)
    page = new_page()
    log_in(page, tenant.csr.email, "/simulator")
    page.click("#sim-body")
    page.keyboard.type("Is anyone free today?")
    page.keyboard.press("Enter")
    expect(page.locator("#sim-timeline .msg .who").first).to_have_text("You (customer)")
    expect(page.locator("#sim-timeline .msg .body").first).to_have_text("Is anyone free today?")
    expect(page.locator("#sim-body")).to_have_value("")
