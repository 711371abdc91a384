"""GET /api/v1/bookings: the caller's account's bookings and what produced them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bookings.calendar import BuiltinCalendar
from tests.agent.conftest import local, make_shop, next_weekday
from tests.factories import make_tenant


def test_bookings_are_listed_for_the_callers_account_only(client, session: Session) -> None:
    mine = make_tenant(session)
    theirs = make_tenant(session, name="Other Co", phone="+14155550111", slug="other")
    shop, other = make_shop(session, mine.account), make_shop(session, theirs.account)
    cal = BuiltinCalendar()
    booking = cal.book(session, shop.account, shop.heater, local(next_weekday(1), 8), contact_id=shop.contact.id,
                       thread_id=shop.thread.id, source="agent")
    cal.book(session, other.account, other.heater, local(next_weekday(1), 8), contact_id=other.contact.id,
             thread_id=other.thread.id, source="link")
    session.commit()

    response = client.get("/api/v1/bookings", headers=mine.auth)
    assert response.status_code == 200
    [row] = response.json()
    assert row["id"] == booking.id and row["contact_id"] == shop.contact.id and row["thread_id"] == shop.thread.id
    assert row["source"] == "agent" and row["job_type"] == "Water heater repair" and row["followup_id"] is None
    assert row["starts_at"].startswith(local(next_weekday(1), 8).astimezone(booking.starts_at.tzinfo).isoformat()[:16])
    assert {"variant", "created_at"} <= set(row)
    assert client.get("/api/v1/bookings?source=link", headers=mine.auth).json() == []


def test_bookings_reject_bad_filters_and_anonymous_callers(client, session: Session) -> None:
    mine = make_tenant(session)
    response = client.get("/api/v1/bookings?source=fax", headers=mine.auth)
    assert response.status_code == 400 and "source" in response.json()["detail"]
    assert client.get("/api/v1/bookings").status_code == 401
