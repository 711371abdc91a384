"""Business setup and the contact panel's booking picker in a real browser: an admin sets hours and a
job type, then a rep books one of the offered times from the thread and sees it there."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from bookings.models import Booking, JobType
from inbox.models import Account
from tests.agent.conftest import local, next_weekday
from tests.e2e.helpers import answer_late, hold_requests
from tests.e2e.test_inbox_browser import CUSTOMER, _open, _sid, log_in
from tests.factories import PASSWORD, make_tenant


def test_admin_sets_up_the_calendar_and_a_rep_books_from_the_contact_panel(new_page: Any, session: Any,
                                                                           live_server: Any) -> None:
    tenant = make_tenant(session)
    live_server.webhook_text(tenant.number.phone, CUSTOMER, "Can someone look at my water heater?", _sid())

    admin = new_page()
    admin.goto("/login")
    admin.fill("input[name=email]", tenant.admin.email)
    admin.fill("input[name=password]", PASSWORD)
    admin.click("button[type=submit]")
    expect(admin).to_have_url(re.compile(r"/inbox"))
    admin.click("nav.mainnav >> text=Business setup")
    expect(admin).to_have_url(re.compile(r"/setup"))
    expect(admin.locator("#hours tr")).to_have_count(7)
    admin.click("button[aria-label='Add hours on Sunday']")
    admin.fill("input[aria-label='Sunday opens']", "09:00")
    admin.fill("input[aria-label='Sunday closes']", "13:00")
    admin.click("#add-job-type")
    row = admin.locator("#job-types tr").last
    row.locator("[name=name]").fill("Water heater repair")
    row.locator("[name=duration_minutes]").fill("120")
    row.locator("[name=aliases]").fill("water heater, no hot water")
    admin.click("#save-calendar")
    expect(admin.locator("#calendar-status")).to_have_text("Calendar saved.")
    session.expire_all()
    assert session.get(Account, tenant.account.id).business_hours["sun"] == [["09:00", "13:00"]]
    job = session.scalar(select(JobType).where(JobType.account_id == tenant.account.id))
    assert (job.name, job.duration_minutes, job.aliases) == ("Water heater repair", 120, ["water heater", "no hot water"])

    rep = new_page()
    log_in(rep, tenant.csr.email)
    _open(rep, session)
    picker = rep.locator("#booking-picker")
    expect(picker.locator("#picker-job")).to_have_value("Water heater repair")
    sunday = next_weekday(6)
    picker.locator("#picker-day").fill(sunday.isoformat())
    first = picker.locator(".slot").first
    expect(first).to_contain_text("9:00")  # the Sunday the admin just opened, at its opening time
    first.click()
    expect(picker.locator("#picker-book")).to_contain_text("Book")
    picker.locator("#picker-book").click()

    note = rep.locator("#timeline .note.note-system")
    expect(note).to_contain_text("Carl Csr booked Water heater repair for")
    expect(note).to_contain_text("9:00 AM")
    expect(rep.locator("#booking-picker .upcoming li")).to_have_count(1)
    expect(rep.locator("#booking-picker .upcoming li")).to_contain_text("Water heater repair")
    session.expire_all()
    [booking] = session.scalars(select(Booking)).all()
    assert booking.source == "csr" and booking.starts_at == local(sunday, 9) and booking.job_type == "Water heater repair"

    # Move it to the next time offered, then cancel it (confirming the browser's question).
    picker.locator(".upcoming button", has_text="Move").click()
    expect(picker.locator("h4")).to_have_text("Move booking")
    picker.locator(".slot", has_text="11:00").first.click()
    expect(picker.locator("#picker-book")).to_contain_text("Move booking to")
    picker.locator("#picker-book").click()
    expect(note).to_have_count(2)
    expect(note.last).to_contain_text("Carl Csr moved Water heater repair to")
    expect(note.last).to_contain_text("11:00 AM")
    rep.on("dialog", lambda dialog: dialog.accept())
    picker.locator(".upcoming button", has_text="Cancel visit").click()
    expect(note).to_have_count(3)
    expect(note.last).to_contain_text("Carl Csr cancelled Water heater repair")
    expect(rep.locator("#booking-picker .upcoming li")).to_have_count(0)
    session.expire_all()
    assert session.get(Booking, booking.id).status == "cancelled"


def test_times_for_an_earlier_day_answering_late_never_replace_the_day_the_rep_picked(new_page: Any, session: Any,
                                                                                      live_server: Any) -> None:
    tenant = make_tenant(session)
    session.add(JobType(account_id=tenant.account.id, name="Drain cleaning", duration_minutes=60))
    session.commit()
    live_server.webhook_text(tenant.number.phone, CUSTOMER, "My drain is slow", _sid())
    rep = new_page()
    wednesday = next_weekday(2)
    # The panel's first slots request (today's times) is answered only after the rep picked Wednesday.
    held = hold_requests(rep, lambda url: "/api/v1/calendar/slots?" in url and f"from={wednesday}" not in url)
    log_in(rep, tenant.csr.email)
    _open(rep, session)
    picker = rep.locator("#booking-picker")
    expect(picker.locator(".picker-times")).to_contain_text("Looking for open times")
    picker.locator("#picker-day").fill(wednesday.isoformat())
    first = picker.locator(".slot").first
    expect(first).to_have_attribute("data-start", re.compile(f"^{wednesday.isoformat()}T08:00"))
    answer_late(rep, held[0])  # today's times: they must leave Wednesday's alone
    expect(first).to_have_attribute("data-start", re.compile(f"^{wednesday.isoformat()}T08:00"))
