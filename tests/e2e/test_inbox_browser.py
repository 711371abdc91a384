"""The CSR inbox in a real browser, against a live server with its RQ worker."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from inbox.models import Message, Thread
from tests.factories import PASSWORD, Tenant, make_tenant

CUSTOMER = "+14155550134"
_sids = itertools.count(1)


def _sid() -> str:
    return f"SMe2e{next(_sids):030d}"


def log_in(page: Any, email: str) -> None:
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/inbox"))
    expect(page.locator("#conn-state")).to_have_text("live")


def _thread_of(session: Any, phone: str) -> Thread:
    session.expire_all()
    from inbox.models import Contact

    return session.scalar(select(Thread).join(Contact, Contact.id == Thread.contact_id)
                          .where(Contact.phone == phone))


def _text_in(live_server: Any, tenant: Tenant, body: str, phone: str = CUSTOMER) -> None:
    live_server.webhook_text(tenant.number.phone, phone, body, _sid())


def _open(page: Any, session: Any, phone: str = CUSTOMER) -> None:
    thread = _thread_of(session, phone)
    page.locator(f".thread-row[data-thread-id='{thread.id}']").click()
    expect(page.locator("#thread-view")).to_be_visible()


def _fetched_but_held(page: Any, held: list[Any]) -> Any:
    """The server's answer to the one request a route holds, fetched but not yet handed to the page."""
    for _ in range(100):  # Playwright hands the request to the route while the test waits on the page
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    return held[0].fetch()


def _rep_viewing(new_page: Any, session: Any, live_server: Any, first_text: str) -> tuple[Tenant, Any]:
    """A customer's first text arrives, and a rep logs in and opens its thread: the tenant and the rep's page."""
    tenant = make_tenant(session)
    _text_in(live_server, tenant, first_text)
    page = new_page()
    log_in(page, tenant.csr.email)
    _open(page, session)
    return tenant, page


def test_login_shows_the_live_inbox_and_a_wrong_password_does_not(new_page, session) -> None:
    tenant = make_tenant(session)
    page = new_page()
    page.goto("/login")
    page.fill("input[name=email]", tenant.csr.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("do not match")
    log_in(page, tenant.csr.email)
    expect(page.locator(".whoami")).to_have_text("Carl Csr")


def test_inbound_text_appears_in_the_list_and_the_open_thread_without_reload(new_page, session,
                                                                           live_server) -> None:
    tenant, page = _rep_viewing(new_page, session, live_server, "Hi, is anyone there?")
    page.evaluate("window.__sameDocument = true")
    _text_in(live_server, tenant, "My basement is flooding")
    expect(page.locator("#timeline .msg.inbound .body").last).to_have_text("My basement is flooding")
    _text_in(live_server, tenant, "Need a quote for a new furnace", phone="+14155550177")
    row = page.locator(".thread-row", has_text="(415) 555-0177")
    expect(row.locator(".preview")).to_have_text("Need a quote for a new furnace")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


def test_a_list_answer_that_left_the_server_before_a_new_text_does_not_take_the_row_back(
        new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "Is anyone there?")
    page = new_page()
    log_in(page, tenant.csr.email)
    row = page.locator(f".thread-row[data-thread-id='{_thread_of(session, CUSTOMER).id}']")
    expect(row.locator(".unread")).to_have_text("1")
    held: list[Any] = []
    page.route(re.compile(r"/api/v1/threads\?"), lambda route: held.append(route))
    page.click(".views button[data-view='all']")
    answer = _fetched_but_held(page, held)  # the list as the server has it now, kept from the page for a while
    _text_in(live_server, tenant, "The water heater is leaking")
    expect(row.locator(".unread")).to_have_text("2")  # told by the socket meanwhile
    with page.expect_response(re.compile(r"/api/v1/threads\?")):
        held[0].fulfill(response=answer)
    page.wait_for_timeout(300)  # the page's own handling of the answer
    expect(row.locator(".unread")).to_have_text("2")
    expect(row.locator(".preview")).to_have_text("The water heater is leaking")


def test_reply_is_sent_and_its_delivery_state_moves_to_delivered(new_page, session, live_server) -> None:
    _, page = _rep_viewing(new_page, session, live_server, "Can you come Tuesday?")
    page.fill("#reply", "Yes, Tuesday 9am works")
    expect(page.locator("#segments")).to_contain_text("1 segment")
    with page.expect_response(re.compile(r"/api/v1/threads/\d+/messages$")) as sent:
        page.click("#send")
    assert sent.value.json()["status"] == "queued"
    mine = page.locator("#timeline .msg.outbound").last
    expect(mine.locator(".who")).to_have_text("Carl Csr")
    expect(mine.locator(".status")).to_have_attribute("data-status", "delivered")
    expect(mine.locator(".status")).to_have_text("Delivered")


def test_a_send_answer_that_reaches_the_page_after_the_delivery_event_leaves_the_text_delivered(
        new_page, session, live_server) -> None:
    _, page = _rep_viewing(new_page, session, live_server, "Can you come Tuesday?")
    held: list[Any] = []
    page.route(re.compile(r"/api/v1/threads/\d+/messages$"),
               lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.fill("#reply", "Yes, Tuesday 9am works")
    page.click("#send")
    answer = _fetched_but_held(page, held)  # the server takes the text; its answer is kept from the page for now
    mine = page.locator("#timeline .msg.outbound").last
    expect(mine.locator(".status")).to_have_attribute("data-status", "delivered")  # told by the socket
    held[0].fulfill(response=answer)
    expect(page.locator("#reply")).to_have_value("")  # the page has handled the late answer...
    expect(mine.locator(".status")).to_have_attribute("data-status", "delivered")  # ...and kept delivered


def test_a_retry_told_by_the_socket_takes_a_sending_text_back_to_queued(new_page, session, live_server) -> None:
    from inbox.status import emit_status

    tenant, page = _rep_viewing(new_page, session, live_server, "Can you come Tuesday?")
    thread = _thread_of(session, CUSTOMER)
    text = Message(account_id=thread.account_id, thread_id=thread.id, contact_id=thread.contact_id,
                   direction="outbound", sender="csr", body="On our way", from_number=tenant.number.phone,
                   to_number=CUSTOMER, status="sending")
    session.add(text)
    session.flush()
    emit_status(session, text)
    session.commit()
    status = page.locator("#timeline .msg.outbound .status")
    expect(status).to_have_attribute("data-status", "sending")
    text.status, text.error_message = "queued", "Retrying: the provider's queue was full"  # as a send job's retry
    emit_status(session, text)
    session.commit()
    expect(status).to_have_attribute("data-status", "queued")


def test_note_is_shown_as_internal_and_never_sent(new_page, session, live_server) -> None:
    _, page = _rep_viewing(new_page, session, live_server, "Hello")
    page.fill("#note-body", "Gate code is 1234")
    page.click("#add-note")
    note = page.locator("#timeline .note.note-csr")
    expect(note.locator(".body")).to_have_text("Gate code is 1234")
    expect(note.locator(".who")).to_contain_text("Internal note")
    expect(page.locator("#timeline .msg.outbound")).to_have_count(0)


def test_assign_escalate_and_take_over_from_the_agent(new_page, session, live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "Hello")
    thread = _thread_of(session, CUSTOMER)
    thread.owner = "agent"
    session.commit()
    page = new_page()
    log_in(page, tenant.csr.email)
    page.click(".views button[data-view=agent]")
    _open(page, session)
    expect(page.locator("#thread-badges")).to_contain_text("with the AI agent")
    page.click("#btn-take-over")
    expect(page.locator("#thread-badges")).to_contain_text("handled by a rep")
    expect(page.locator("#assignee-badge")).to_have_text("assigned to Carl Csr")
    expect(page.locator("#btn-hand-back")).to_be_visible()
    expect(page.locator("#timeline .note-system").last).to_contain_text("took over from the AI agent")
    page.select_option("#assign-select", label="Ana Admin")
    expect(page.locator("#assignee-badge")).to_have_text("assigned to Ana Admin")
    page.click("#btn-assign-me")
    expect(page.locator("#assignee-badge")).to_have_text("assigned to Carl Csr")
    page.click("#btn-escalate")
    expect(page.locator("#thread-badges .badge.escalated")).to_be_visible()
    expect(page.locator("#btn-deescalate")).to_be_visible()
    session.expire_all()
    stored = session.get(Thread, thread.id)
    assert (stored.owner, stored.assignee_id, stored.escalated) == ("csr", tenant.csr.id, True)


def test_opt_out_shows_a_banner_and_disables_the_composer_live(new_page, session, live_server) -> None:
    tenant, page = _rep_viewing(new_page, session, live_server, "Hello")
    expect(page.locator("#optout-banner")).to_be_hidden()
    _text_in(live_server, tenant, "STOP")
    expect(page.locator("#optout-banner")).to_be_visible()
    expect(page.locator("#optout-banner")).to_contain_text("opted out")
    expect(page.locator("#reply")).to_be_disabled()
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#composer-disabled")).to_contain_text("opted out")


def test_two_browsers_see_each_others_actions_and_the_typing_collision(new_page, session,
                                                                      live_server) -> None:
    tenant = make_tenant(session)
    _text_in(live_server, tenant, "Who can help me?")
    carl, ana = new_page(), new_page()
    log_in(carl, tenant.csr.email)
    log_in(ana, tenant.admin.email)
    _open(carl, session)
    _open(ana, session)
    expect(ana.locator("#viewers")).to_contain_text("Carl Csr")
    carl.click("#btn-escalate")
    expect(ana.locator("#thread-badges .badge.escalated")).to_be_visible()
    ana.fill("#note-body", "I'll call them")
    ana.click("#add-note")
    expect(carl.locator("#timeline .note-csr .body")).to_have_text("I'll call them")
    ana.locator("#reply").press_sequentially("Hi, this is Ana", delay=20)
    expect(carl.locator("#typing-warning")).to_contain_text("Ana Admin is typing")
    carl.locator("#reply").press_sequentially("Hi, Carl here", delay=20)
    expect(ana.locator("#typing-warning.collision")).to_contain_text("Carl Csr is also writing a reply")
    expect(carl.locator("#typing-warning.collision")).to_contain_text("Ana Admin is also writing a reply")
    carl.click("#send")  # Carl's draft is gone: Ana's warning ends without waiting for it to expire
    expect(ana.locator("#typing-warning")).to_be_hidden()
    expect(ana.locator("#timeline .msg.outbound .body")).to_have_text("Hi, Carl here")


def test_dropped_websocket_gets_the_missed_events_on_reconnect(new_page, session, live_server) -> None:
    tenant, page = _rep_viewing(new_page, session, live_server, "First text")
    page.evaluate("window.textdesk.live.drop()")
    expect(page.locator("#conn-state")).to_have_text("offline")
    _text_in(live_server, tenant, "Sent while you were offline")
    _text_in(live_server, tenant, "Another one", phone="+14155550188")
    expect(page.locator("#timeline .msg.inbound")).to_have_count(1)
    page.evaluate("window.textdesk.live.reconnect()")
    expect(page.locator("#conn-state")).to_have_text("live")
    expect(page.locator("#timeline .msg.inbound .body").last).to_have_text("Sent while you were offline")
    expect(page.locator(".thread-row", has_text="(415) 555-0188").locator(".preview")).to_have_text("Another one")


def test_script_and_img_onerror_in_a_customer_text_render_as_inert_text(new_page, session,
                                                                       live_server) -> None:
    tenant = make_tenant(session)
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    _text_in(live_server, tenant, "hello")
    page = new_page()
    log_in(page, tenant.csr.email)
    _open(page, session)
    _text_in(live_server, tenant, payload)
    expect(page.locator("#timeline .msg.inbound .body").last).to_have_text(payload)
    page.reload()  # and rendered from the API on a fresh page load
    _open(page, session)
    expect(page.locator("#timeline .msg.inbound .body").last).to_have_text(payload)
    assert page.locator("#timeline img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_mms_picture_is_shown_in_the_thread(new_page, session, live_server) -> None:
    tenant, page = _rep_viewing(new_page, session, live_server, "hello")
    picture = f"{live_server.url}/static/no-such-photo.jpg"
    sid = _sid()
    response = httpx.post(f"{live_server.url}/webhooks/twilio/messages", timeout=10, data={
        "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": CUSTOMER, "To": tenant.number.phone,
        "Body": "here is the leak", "NumMedia": "1", "MediaUrl0": picture, "MediaContentType0": "image/jpeg"})
    assert response.status_code == 200
    # The id from the stored row: the page may not have drawn the new text yet.
    session.expire_all()
    message_id = session.scalar(select(Message.id).where(Message.provider_sid == sid))
    # Through textdesk's authenticated media route, never from the texter's URL.
    expect(page.locator("#timeline .msg.inbound img.mms")).to_have_attribute(
        "src", f"/api/v1/messages/{message_id}/media/0")


def test_agent_hand_off_shows_its_reason_live(new_page, session, live_server) -> None:
    from agent.handoff import hand_off

    tenant = make_tenant(session)
    _text_in(live_server, tenant, "I want to talk to a person")
    thread = _thread_of(session, CUSTOMER)
    thread.owner = "agent"
    session.commit()
    page = new_page()
    log_in(page, tenant.csr.email)
    page.click(".views button[data-view=all]")
    _open(page, session)
    hand_off(session, thread, "asked for a human", "Customer wants to talk to someone about pricing")
    session.commit()
    expect(page.locator("#handoff")).to_contain_text("asked for a human")
    expect(page.locator("#timeline .note-agent .body")).to_contain_text("talk to someone about pricing")
    expect(page.locator("#thread-badges .badge.escalated")).to_be_visible()


def test_composer_segment_counter_agrees_with_the_server(new_page, session) -> None:
    from inbox.segments import count_segments

    tenant = make_tenant(session)
    page = new_page()
    log_in(page, tenant.csr.email)
    samples = ["Yes, 9am works", "a" * 160, "a" * 161, "{braces} cost two [each] €", "b" * 153 + "^",
               "We’ll be there", "🚰 fixed " * 9, "ü" * 70, "ü" * 71 + "x", ""]
    for text in samples:
        browser = page.evaluate("(t) => window.textdeskSegments.count(t)", text)
        server = count_segments(text)
        assert (browser["encoding"], browser["units"], browser["segments"]) == \
            (server.encoding, server.units, server.segments), text


def test_composer_lint_uses_the_servers_shortener_domains_and_capitals(new_page, session) -> None:
    from followups.templates import CAPS_ALLOWED, PUBLIC_SHORTENERS

    tenant = make_tenant(session)
    page = new_page()
    log_in(page, tenant.csr.email)
    lint = "(t) => window.textdeskSegments.lint(t).join(' | ')"
    for domain in PUBLIC_SHORTENERS:
        assert "shorteners" in page.evaluate(lint, f"Book here: https://{domain}/abc"), domain
    assert "shorteners" not in page.evaluate(lint, "Book here: https://textdesk.example/l/abc")
    assert "ALL CAPS" not in page.evaluate(lint, " ".join(sorted(CAPS_ALLOWED)))
    assert "ALL CAPS" in page.evaluate(lint, "CALL US RIGHT AWAY")
