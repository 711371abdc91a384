"""CSR speed in a real browser: Enter sends, every shortcut, saved replies at the cursor, snooze,
notifications with the unread count in the title, and search over message text."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from bookings.models import Booking
from core.db import utcnow
from inbox.models import Contact, Thread
from tests.e2e.helpers import answer_late, hold_requests, log_in
from tests.factories import make_tenant

_sids = itertools.count(1)
DANA, EVAN = "+14155550134", "+14155550177"


def _text_in(live_server: Any, tenant: Any, body: str, phone: str = DANA) -> None:
    live_server.webhook_text(tenant.number.phone, phone, body, f"SMspeed{next(_sids):028d}")


def _thread(session: Any, phone: str) -> Thread:
    session.expire_all()
    return session.scalar(select(Thread).join(Contact, Contact.id == Thread.contact_id).where(Contact.phone == phone))


def _open(page: Any, session: Any, phone: str = DANA) -> Thread:
    thread = _thread(session, phone)
    page.locator(f".thread-row[data-thread-id='{thread.id}']").click()
    expect(page.locator("#thread-view")).to_be_visible()
    return thread


def test_enter_sends_and_shift_enter_breaks_the_line(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "Are you open Saturday?")
    page = new_page()
    log_in(page, tenant.csr.email)
    _open(page, session)
    page.click("#reply")
    page.keyboard.type("Yes, 9 to 2.")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("See you then")
    assert page.input_value("#reply") == "Yes, 9 to 2.\nSee you then"
    expect(page.locator("#timeline .msg.outbound")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator("#timeline .msg.outbound .body")).to_have_text("Yes, 9 to 2.\nSee you then")
    expect(page.locator("#reply")).to_have_value("")


def test_every_shortcut_does_what_the_help_says(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "first customer", DANA)
    _text_in(live_server, tenant, "second customer", EVAN)
    page = new_page()
    log_in(page, tenant.csr.email)
    expect(page.locator(".thread-row")).to_have_count(2)
    newest, older = _thread(session, EVAN), _thread(session, DANA)

    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(f"/inbox/{newest.id}$"))
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(f"/inbox/{older.id}$"))
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(f"/inbox/{newest.id}$"))
    expect(page.locator("#thread-title")).to_contain_text("(415) 555-0177")

    page.keyboard.press("r")
    expect(page.locator("#reply")).to_be_focused()
    expect(page.locator("#reply")).to_have_value("")  # the "r" was not typed
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.locator("#note-body")).to_be_focused()
    page.keyboard.press("Escape")

    page.keyboard.press("a")
    expect(page.locator("#assignee-badge")).to_have_text("assigned to Carl Csr")
    page.keyboard.press("e")
    expect(page.locator("#thread-badges .status-resolved")).to_be_visible()

    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts")).to_contain_text("assign to me")


def test_saved_reply_with_variables_is_inserted_at_the_cursor(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "When are you coming?")
    thread = _thread(session, DANA)
    contact = session.get(Contact, thread.contact_id)
    contact.name = "Dana Reyes"
    start = (utcnow() + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)  # 9:00 AM in LA
    session.add(Booking(account_id=tenant.account.id, contact_id=contact.id, thread_id=thread.id, source="csr",
                        job_type="Water heater repair", starts_at=start, status="booked"))
    session.commit()
    created = httpx.post(f"{live_server.url}/api/v1/saved-replies", headers=tenant.auth, json={
        "name": "eta", "body": "Hi {{ first_name }}, {{ business_name }} will see you {{ booking_time }}."})
    assert created.status_code == 201, created.text

    page = new_page()
    log_in(page, tenant.csr.email)
    _open(page, session)
    page.click("#reply")
    page.keyboard.type("Thanks!  See you.")
    for _ in range(len(" See you.")):
        page.keyboard.press("ArrowLeft")
    page.keyboard.type("/et")
    expect(page.locator("#saved-reply-menu li")).to_have_count(1)
    expect(page.locator("#saved-reply-menu")).to_contain_text("/eta")
    page.keyboard.press("Enter")  # picks the reply; does not send
    value = page.input_value("#reply")
    assert re.fullmatch(r"Thanks! Hi Dana, Reyes Plumbing will see you \w{3}, \w{3} \d{1,2}, 9:00\sAM\. See you\.",
                        value), value
    expect(page.locator("#timeline .msg.outbound")).to_have_count(0)
    assert page.evaluate("document.getElementById('reply').selectionStart") == value.index(" See you.")


def test_snoozed_thread_comes_back_when_the_customer_texts(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "I'll check with my wife and get back to you")
    page = new_page()
    log_in(page, tenant.csr.email)
    thread = _open(page, session)
    page.click("#btn-snooze")
    page.click("[data-snooze=reply]")
    expect(page.locator("#snooze-badge")).to_have_text("snoozed until they reply")
    expect(page.locator(f".thread-row[data-thread-id='{thread.id}']")).to_have_count(0)  # gone from Open
    _text_in(live_server, tenant, "OK she says Tuesday works")
    expect(page.locator(f".thread-row[data-thread-id='{thread.id}']")).to_have_count(1)
    expect(page.locator("#thread-badges .status-open")).to_be_visible()
    expect(page.locator("#snooze-badge")).to_have_count(0)


def test_notification_for_a_new_text_and_the_unread_count_in_the_title(browser, session, live_server) -> None:
    tenant = make_tenant(session)
    context = browser.new_context(base_url=live_server.url, permissions=["notifications"])
    context.set_default_timeout(15000)
    # Record what the page shows as notifications (the OS draws them, out of the page's reach).
    context.add_init_script("""
      window.__notifications = [];
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title, options) { super(title, options); window.__notifications.push({ title, body: options.body }); }
      };
      Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
    """)
    try:
        page = context.new_page()
        log_in(page, tenant.csr.email)
        assert page.evaluate("Notification.permission") == "granted"
        _text_in(live_server, tenant, "My pipe burst!", EVAN)
        page.wait_for_function("window.__notifications.length > 0")
        assert page.evaluate("window.__notifications") == [
            {"title": "New text from (415) 555-0177", "body": "My pipe burst!"}]
        expect(page).to_have_title(re.compile(r"^\(1\) Inbox"))
        _open(page, session, EVAN)
        expect(page).to_have_title(re.compile(r"^Inbox"))  # read: the count is gone
    finally:
        context.close()


def test_search_finds_a_thread_by_the_text_of_a_message(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "the water heater is leaking", DANA)
    _text_in(live_server, tenant, "thanks!", DANA)
    _text_in(live_server, tenant, "need a furnace tune-up", EVAN)
    page = new_page()
    log_in(page, tenant.csr.email)
    expect(page.locator(".thread-row")).to_have_count(2)
    page.fill("#search", "leaking")
    expect(page.locator(".thread-row")).to_have_count(1)
    expect(page.locator(".thread-row .name")).to_have_text("(415) 555-0134")


def test_a_late_answer_to_an_earlier_search_never_replaces_the_newer_one(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "the water heater is leaking", DANA)
    _text_in(live_server, tenant, "need a furnace tune-up", EVAN)
    page = new_page()
    log_in(page, tenant.csr.email)
    expect(page.locator(".thread-row")).to_have_count(2)
    held = hold_requests(page, lambda url: "/api/v1/threads?" in url and "q=leaking" in url)
    with page.expect_request(lambda request: "q=leaking" in request.url):
        page.fill("#search", "leaking")
    page.fill("#search", "furnace")
    expect(page.locator(".thread-row")).to_have_count(1)
    expect(page.locator(".thread-row .name")).to_have_text("(415) 555-0177")
    answer_late(page, held[0])  # the search for "leaking": the list must still show the furnace search
    expect(page.locator(".thread-row")).to_have_count(1)
    expect(page.locator(".thread-row .name")).to_have_text("(415) 555-0177")


def test_admin_manages_saved_replies_on_their_page_and_a_csr_cannot_open_it(new_page, session) -> None:
    tenant = make_tenant(session)
    page = new_page()
    log_in(page, tenant.admin.email)
    page.goto("/settings")  # the follow-up settings page links to it
    page.click("#saved-replies-link")
    expect(page.locator("#saved-list")).to_contain_text("No saved replies yet.")
    page.fill("#saved-form input[name=name]", "running-late")
    page.fill("#saved-form textarea[name=body]", "Hi {{ first_name }}, we are running 15 minutes late.")
    page.click("#saved-save")
    expect(page.locator("#saved-list li[data-name='running-late']")).to_contain_text("running 15 minutes late")
    page.fill("#saved-form input[name=name]", "bad")
    page.fill("#saved-form textarea[name=body]", "Hi {{ last_name }}")
    page.click("#saved-save")
    expect(page.locator("#saved-status")).to_contain_text("unknown variable {{ last_name }}")

    csr = new_page()
    log_in(csr, tenant.csr.email)
    response = csr.goto("/settings/saved-replies")
    assert response.status == 403
