"""A rep books, reschedules and cancels from the API: 201/409/422, a note on the thread, and the
same seat locking as the agent (on PostgreSQL a rep racing the agent for the last seat: one wins)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.tools import ToolContext, execute
from bookings.models import Booking
from core.db import get_sessionmaker, utcnow
from inbox.models import Account, Contact, Note, Thread
from tests.agent.conftest import Shop, local, make_shop, next_weekday, other_contact
from tests.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session)


@pytest.fixture
def shop(session: Session, tenant: Tenant) -> Shop:
    return make_shop(session, tenant.account)


def _book(client, tenant: Tenant, shop: Shop, start: str, **extra: Any) -> Any:  # type: ignore[no-untyped-def]
    body = {"contact_id": shop.contact.id, "job_type": "Water heater repair", "start": start, **extra}
    return client.post("/api/v1/bookings", json=body, headers=tenant.auth)


def test_a_rep_books_an_open_slot_and_the_thread_says_so(client, session: Session, tenant: Tenant, shop: Shop) -> None:
    start = local(next_weekday(1), 10)
    response = _book(client, tenant, shop, start.isoformat(), thread_id=shop.thread.id)
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["source"] == "csr" and booking["contact_id"] == shop.contact.id
    assert booking["thread_id"] == shop.thread.id and booking["job_type"] == "Water heater repair"
    assert datetime.fromisoformat(booking["starts_at"]) == start and booking["status"] == "booked"
    assert "session_ref" in booking
    [note] = session.scalars(select(Note).where(Note.thread_id == shop.thread.id)).all()
    assert note.author_kind == "system" and note.body.startswith("Ana Admin booked Water heater repair for ")
    listed = client.get(f"/api/v1/bookings?contact_id={shop.contact.id}", headers=tenant.auth).json()
    assert [b["id"] for b in listed] == [booking["id"]]


def test_a_full_slot_is_409_and_a_time_that_is_no_slot_is_422(client, session: Session, tenant: Tenant,
                                                               shop: Shop) -> None:
    start = local(next_weekday(1), 10)
    assert _book(client, tenant, shop, start.isoformat()).status_code == 201
    sam = other_contact(session, shop)
    response = client.post("/api/v1/bookings", json={"contact_id": sam.contact_id, "job_type": "water heater repair",
                                                     "start": start.isoformat()}, headers=tenant.auth)
    assert response.status_code == 409 and "full" in response.json()["detail"]
    for bad in (local(next_weekday(1), 10, 30), local(next_weekday(6), 10), local(next_weekday(1), 17)):
        response = _book(client, tenant, shop, bad.isoformat())
        assert response.status_code == 422 and response.json()["detail"].startswith("start:"), response.text
    assert session.scalar(select(func.count()).select_from(Booking)) == 1


def test_bad_booking_requests_name_the_field(client, session: Session, tenant: Tenant, shop: Shop) -> None:
    start = local(next_weekday(1), 10).isoformat()
    cases = [({"job_type": "Water heater repair", "start": start}, "contact_id: required"),
             ({"contact_id": shop.contact.id, "job_type": "Roofing", "start": start}, 'job_type: "Roofing"'),
             ({"contact_id": shop.contact.id, "job_type": "Water heater repair", "start": "tuesday"},
              'start: "tuesday" is not'),
             ({"contact_id": shop.contact.id, "job_type": "Water heater repair"}, "start: required")]
    for body, detail in cases:
        response = client.post("/api/v1/bookings", json=body, headers=tenant.auth)
        assert response.status_code == 422 and response.json()["detail"].startswith(detail), response.text
    other = make_tenant(session, name="Other Co", phone="+14155550111", slug="other")
    response = client.post("/api/v1/bookings", json={"contact_id": shop.contact.id, "job_type": "Water heater repair",
                                                     "start": start}, headers=other.auth)
    assert response.status_code == 404  # another account's contact looks absent


def test_a_rep_reschedules_and_cancels_and_a_second_cancel_is_409(client, session: Session, tenant: Tenant,
                                                                  shop: Shop) -> None:
    tuesday = next_weekday(1)
    booking = _book(client, tenant, shop, local(tuesday, 8).isoformat(), thread_id=shop.thread.id).json()
    moved = client.post(f"/api/v1/bookings/{booking['id']}/reschedule", json={"start": local(tuesday, 14).isoformat()},
                        headers=tenant.auth)
    assert moved.status_code == 200, moved.text
    session.expire_all()
    row = session.get_one(Booking, booking["id"])
    assert row.starts_at == local(tuesday, 14) and row.status == "booked"
    # The 8:00 seat is free again: someone else can take it.
    sam = other_contact(session, shop)
    assert client.post("/api/v1/bookings", json={"contact_id": sam.contact_id, "job_type": "Water heater repair",
                                                 "start": local(tuesday, 8).isoformat()},
                       headers=tenant.auth).status_code == 201
    bad = client.post(f"/api/v1/bookings/{booking['id']}/reschedule", json={"start": local(tuesday, 8).isoformat()},
                      headers=tenant.auth)
    assert bad.status_code == 409
    cancelled = client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=tenant.auth)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=tenant.auth).status_code == 409
    assert client.post(f"/api/v1/bookings/{booking['id']}/reschedule", json={"start": local(tuesday, 14).isoformat()},
                       headers=tenant.auth).status_code == 409
    notes = session.scalars(select(Note.body).where(Note.thread_id == shop.thread.id).order_by(Note.id)).all()
    assert [n.split(" ")[2] for n in notes] == ["booked", "moved", "cancelled"]


def test_a_rep_racing_the_agent_for_the_last_seat_one_wins_the_other_gets_409(client, session: Session,
                                                                               tenant: Tenant, shop: Shop) -> None:
    """The agent holds the last seat in an uncommitted transaction; the rep's request must wait for it,
    then lose with a 409 (and the other way round: an agent after the rep's commit is refused)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("concurrency proof runs on PostgreSQL (SQLite has one writer at a time)")
    start = local(next_weekday(2), 10)
    sam = other_contact(session, shop)
    agent_session = get_sessionmaker()()
    outcome: dict[str, Any] = {}
    try:
        account = agent_session.get_one(Account, shop.account.id)
        ctx = ToolContext(session=agent_session, account=account, thread=agent_session.get_one(Thread, shop.thread.id),
                          contact=agent_session.get_one(Contact, shop.contact.id), now=utcnow())
        booked = execute(ctx, "book_slot", json.dumps({"job_type": "Water heater repair", "start": start.isoformat()}))
        assert booked.accepted, booked.content

        def rep() -> None:
            outcome["rep"] = client.post("/api/v1/bookings", json={
                "contact_id": sam.contact_id, "job_type": "Water heater repair", "start": start.isoformat()},
                headers=tenant.auth)

        racer = threading.Thread(target=rep)
        racer.start()
        racer.join(timeout=1.5)
        assert racer.is_alive(), "the rep's booking must wait on the agent's uncommitted seat"
        agent_session.commit()
        racer.join(timeout=15)
    finally:
        agent_session.close()
    assert outcome["rep"].status_code == 409, outcome["rep"].text
    assert session.scalar(select(func.count()).select_from(Booking).where(Booking.starts_at == start)) == 1


def test_a_rep_and_the_agent_booking_at_once_make_one_booking(client, session: Session, tenant: Tenant,
                                                              shop: Shop) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("concurrency proof runs on PostgreSQL (SQLite has one writer at a time)")
    start = local(next_weekday(3), 14)
    sam = other_contact(session, shop)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def agent() -> None:
        s = get_sessionmaker()()
        try:
            ctx = ToolContext(session=s, account=s.get_one(Account, shop.account.id),
                              thread=s.get_one(Thread, shop.thread.id), contact=s.get_one(Contact, shop.contact.id),
                              now=utcnow())
            barrier.wait()
            outcome = execute(ctx, "book_slot", json.dumps({"job_type": "Water heater repair",
                                                            "start": start.isoformat()}))
            s.commit() if outcome.accepted else s.rollback()
            results["agent"] = "booked" if outcome.accepted else outcome.content["error"]
        finally:
            s.close()

    def rep() -> None:
        barrier.wait()
        results["rep"] = client.post("/api/v1/bookings", json={
            "contact_id": sam.contact_id, "job_type": "Water heater repair", "start": start.isoformat()},
            headers=tenant.auth).status_code

    threads = [threading.Thread(target=agent), threading.Thread(target=rep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert (results["agent"] == "booked") != (results["rep"] == 201), results
    assert results["rep"] in (201, 409) and (results["agent"] == "booked" or "full" in results["agent"])
    assert session.scalar(select(func.count()).select_from(Booking).where(Booking.starts_at == start)) == 1
