"""Snoozing a thread: until a time (an RQ job brings it back) or until the customer replies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import utcnow
from inbox.inbound import receive_sms
from inbox.models import Note, Thread
from inbox.threads import wake_snoozed
from tests.factories import make_tenant
from tests.web.helpers import make_thread


def test_snoozed_until_the_customer_replies_comes_back_open_when_they_text(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    response = client.post(f"/api/v1/threads/{thread.id}/snooze", json={"until": None}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "snoozed"
    assert client.get("/api/v1/threads", params={"status": "open"}, headers=tenant.auth).json() == []

    session.expire_all()  # the pipeline reads the thread as the API left it, like a webhook's own session
    receive_sms(session, to=tenant.number.phone, from_="+14155550134", body="any update?", provider_sid="SM" + "9" * 32)
    session.commit()
    rows = client.get("/api/v1/threads", params={"status": "open"}, headers=tenant.auth).json()
    assert [(r["id"], r["status"], r["snoozed_until"]) for r in rows] == [(thread.id, "open", None)]


def test_snoozed_until_a_time_is_reopened_by_the_job_at_that_time(client, session, worker) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    until = utcnow() + timedelta(seconds=2)
    response = client.post(f"/api/v1/threads/{thread.id}/snooze", json={"until": until.isoformat()},
                           headers=tenant.auth)
    assert response.json()["snoozed_until"] == until.isoformat()
    assert wake_snoozed(thread.id) == {"thread": thread.id, "woke": False}  # too early: nothing changes
    import time

    time.sleep(2.2)
    worker()  # the scheduled RQ job, by name
    session.expire_all()
    reopened = session.get(Thread, thread.id)
    assert (reopened.status, reopened.snoozed_until) == ("open", None)
    notes = [n.body for n in session.query(Note).filter(Note.thread_id == thread.id).order_by(Note.id)]
    assert notes[-1] == "The snooze ended" and "snoozed this thread until" in notes[-2]


@pytest.mark.parametrize(("body", "detail"), [
    ({}, "until: required"),
    ({"until": "tomorrow"}, "is not an ISO 8601 time"),
    ({"until": "2030-01-01T08:00:00"}, "give a time zone offset"),
    ({"until": "2001-01-01T08:00:00Z"}, "must be in the future"),
])
def test_bad_snooze_times_say_why(client, session, body, detail) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    response = client.post(f"/api/v1/threads/{thread.id}/snooze", json=body, headers=tenant.auth)
    assert response.status_code == 400 and detail in response.json()["detail"]


def test_unsnooze_brings_it_back_now(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    client.post(f"/api/v1/threads/{thread.id}/snooze", json={"until": None}, headers=tenant.auth)
    response = client.post(f"/api/v1/threads/{thread.id}/unsnooze", headers=tenant.auth)
    assert response.json()["status"] == "open"
