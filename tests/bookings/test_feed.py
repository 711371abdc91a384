"""The iCalendar feed: a secret URL, one VEVENT per booking with a stable UID, cancelled ones marked."""

from __future__ import annotations

from urllib.parse import urlsplit

from icalendar import Calendar
from sqlalchemy.orm import Session

from bookings.calendar import BuiltinCalendar
from tests.agent.conftest import local, make_shop, next_weekday, other_contact
from tests.factories import make_tenant
from tests.web.helpers import login

cal = BuiltinCalendar()


def _events(client, url: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    parsed = Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in parsed.walk("VEVENT")}


def test_the_feed_lists_each_booking_once_and_a_cancelled_one_as_cancelled(client, session: Session) -> None:
    tenant = make_tenant(session)
    shop = make_shop(session, tenant.account)
    tuesday = next_weekday(1)
    first = cal.book(session, shop.account, shop.heater, local(tuesday, 8), contact_id=shop.contact.id,
                     thread_id=shop.thread.id, source="agent")
    sam = other_contact(session, shop)
    second = cal.book(session, shop.account, shop.drain, local(tuesday, 12), contact_id=sam.contact_id,
                      thread_id=None, source="csr")
    session.commit()

    url = client.get("/api/v1/calendar/feed", headers=tenant.auth).json()["url"]
    assert url.startswith("http://testserver.local/feeds/") and url.endswith("/bookings.ics")
    assert client.get("/api/v1/calendar/feed", headers=tenant.auth).json()["url"] == url  # stable until rotated
    events = _events(client, url)
    assert len(events) == 2
    uid = f"booking-{first.id}@testserver.local"
    event = events[uid]
    assert event["DTSTART"].dt == local(tuesday, 8) and event["DTEND"].dt == local(tuesday, 10)  # type: ignore[index]
    assert str(event["SUMMARY"]) == "Water heater repair: Dana Reyes" and str(event["STATUS"]) == "CONFIRMED"  # type: ignore[index]

    cal.reschedule(session, shop.account, first, local(tuesday, 14), contact_id=shop.contact.id)
    cal.cancel(session, shop.account, second, contact_id=sam.contact_id)
    session.commit()
    events = _events(client, url)
    assert set(events) == {uid, f"booking-{second.id}@testserver.local"}  # same UIDs: the phone updates, not duplicates
    assert events[uid]["DTSTART"].dt == local(tuesday, 14)  # type: ignore[index]
    assert str(events[f"booking-{second.id}@testserver.local"]["STATUS"]) == "CANCELLED"  # type: ignore[index]


def test_rotating_the_feed_retires_the_old_url_and_only_admins_see_it(client, session: Session) -> None:
    tenant = make_tenant(session)
    old = client.get("/api/v1/calendar/feed", headers=tenant.auth).json()["url"]
    new = client.post("/api/v1/calendar/feed/rotate", headers=tenant.auth).json()["url"]
    assert new != old
    assert client.get(urlsplit(old).path).status_code == 404
    assert client.get(urlsplit(new).path).status_code == 200
    assert client.get("/feeds/not-a-token/bookings.ics").status_code == 404
    login(client, tenant.csr.email)
    assert client.get("/api/v1/calendar/feed").status_code == 403
