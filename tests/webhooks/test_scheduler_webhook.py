"""POST /webhooks/scheduler: signatures, idempotency, validation, contacts and threads, completion."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from bookings.models import Booking, BookingSession
from core.db import utcnow
from core.queue import get_queue
from followups.models import Followup, SchedulerEvent, TrackedLink
from followups.scheduling import SWEEP_JOB, job_id
from inbox.models import Contact, Thread
from tests.factories import make_tenant
from tests.followups.helpers import event, post_event


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_abandoned_event_schedules_one_followup_due_after_the_delay(client, session) -> None:
    tenant = make_tenant(session)
    body = event()
    response = post_event(client, tenant, body)
    assert response.status_code == 200, response.text
    followup = session.scalars(select(Followup)).one()
    contact = session.get(Contact, followup.contact_id)
    assert contact.phone == "+14155550134" and contact.name == "Dana Reyes" and contact.zip == "94110"
    occurred = datetime.fromisoformat(body["occurred_at"])
    assert followup.due_at == occurred + timedelta(seconds=900)
    assert response.json()["followup_id"] == followup.id
    assert followup.status == "scheduled" and followup.thread_id is not None
    scheduled = ScheduledJobRegistry(queue=get_queue()).get_job_ids()
    assert job_id(followup.due_at) in scheduled
    assert get_queue().fetch_job(job_id(followup.due_at)).func_name == SWEEP_JOB


def test_followup_is_due_occurred_at_plus_the_accounts_delay(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.followup_delay_seconds = 60
    session.commit()
    response = post_event(client, tenant, event(occurred_at=utcnow()))
    assert response.status_code == 200
    followup = session.scalars(select(Followup)).one()
    booking = session.scalars(select(BookingSession)).one()
    assert followup.due_at - booking.abandoned_at == timedelta(seconds=60)


def test_repeated_event_id_changes_nothing(client, session) -> None:
    tenant = make_tenant(session)
    assert post_event(client, tenant, event()).status_code == 200
    again = post_event(client, tenant, event(session_id="sess_other"))  # same id, different content
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert _count(session, Followup) == 1 and _count(session, BookingSession) == 1
    assert _count(session, SchedulerEvent) == 1


@pytest.mark.parametrize("case", ["wrong_signature", "other_secret", "stale", "future", "unknown_account",
                                  "no_signature"])
def test_untrusted_request_is_rejected_and_nothing_is_stored(client, session, case) -> None:
    tenant = make_tenant(session)
    now = int(time.time())  # "future" is a minute past the window: a slow machine reaches the check seconds later
    kwargs = {
        "wrong_signature": {}, "other_secret": {"secret": "not-the-secret"}, "stale": {"timestamp": now - 301},
        "future": {"timestamp": now + 360}, "unknown_account": {"account_id": tenant.account.id + 99},
        "no_signature": {},
    }[case]
    body = json.dumps(event()).encode()
    if case in ("wrong_signature", "no_signature"):
        headers = {"X-Textdesk-Account": str(tenant.account.id), "X-Textdesk-Timestamp": str(now)}
        if case == "wrong_signature":
            headers["X-Textdesk-Signature"] = "v1=" + "0" * 64
        response = client.post("/webhooks/scheduler", content=body, headers=headers)
    else:
        response = post_event(client, tenant, body, **kwargs)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]
    assert _count(session, SchedulerEvent) == 0 and _count(session, Contact) == 0 and _count(session, Followup) == 0


def test_signature_covers_the_raw_body(client, session) -> None:
    tenant = make_tenant(session)
    now = int(time.time())
    from webhooks.scheduler import sign

    signed = json.dumps(event()).encode()
    tampered = signed.replace(b"sess_42", b"sess_43")
    response = client.post("/webhooks/scheduler", content=tampered, headers={
        "X-Textdesk-Account": str(tenant.account.id), "X-Textdesk-Timestamp": str(now),
        "X-Textdesk-Signature": sign(tenant.account.webhook_secret, now, signed)})
    assert response.status_code == 403 and "Signature" in response.json()["detail"]


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b["contact"].update(phone="555-01"), "contact.phone"),
    (lambda b: b["contact"].update(phone="not a phone"), "contact.phone"),
    (lambda b: b["session"].pop("id"), "session.id"),
    (lambda b: b.update(type="session.started"), "type"),
    (lambda b: b.pop("occurred_at"), "occurred_at"),
    (lambda b: b.update(occurred_at="yesterday"), "occurred_at"),
    (lambda b: b.pop("id"), "id"),
])
def test_invalid_event_is_422_naming_the_field(client, session, mutate, field) -> None:
    tenant = make_tenant(session)
    body = event()
    mutate(body)
    response = post_event(client, tenant, body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(field + ":")
    assert _count(session, SchedulerEvent) == 0 and _count(session, Contact) == 0


def test_abandoned_event_reuses_the_contacts_open_thread(client, session) -> None:
    tenant = make_tenant(session)
    contact = Contact(account_id=tenant.account.id, phone="+14155550134", name="Dana")
    session.add(contact)
    session.flush()
    thread = Thread(account_id=tenant.account.id, contact_id=contact.id, status="open")
    session.add(thread)
    session.commit()
    assert post_event(client, tenant, event(phone="+1 415-555-0134")).status_code == 200
    followup = session.scalars(select(Followup)).one()
    assert followup.contact_id == contact.id and followup.thread_id == thread.id
    assert _count(session, Thread) == 1 and _count(session, Contact) == 1


def test_abandoned_event_opens_a_new_thread_when_the_old_one_is_resolved(client, session) -> None:
    tenant = make_tenant(session)
    contact = Contact(account_id=tenant.account.id, phone="+14155550134")
    session.add(contact)
    session.flush()
    old = Thread(account_id=tenant.account.id, contact_id=contact.id, status="resolved")
    session.add(old)
    session.commit()
    assert post_event(client, tenant, event()).status_code == 200
    followup = session.scalars(select(Followup)).one()
    assert followup.thread_id != old.id and _count(session, Thread) == 2


def test_completed_before_due_cancels_the_followup_and_records_a_scheduler_booking(client, session) -> None:
    tenant = make_tenant(session)
    post_event(client, tenant, event())
    response = post_event(client, tenant, event("session.completed", id="evt_2", job={"id": "job_981",
                                                                                        "type": "Water heater repair"}))
    assert response.status_code == 200, response.text
    session.expire_all()
    followup = session.scalars(select(Followup)).one()
    assert followup.status == "cancelled" and followup.cancelled_by == "session_completed"
    booking = session.scalars(select(Booking)).one()
    assert booking.source == "scheduler" and booking.external_job_id == "job_981"
    assert booking.followup_id == followup.id and booking.contact_id == followup.contact_id


def test_completed_after_the_link_was_tapped_attributes_the_booking_to_the_link(client, session) -> None:
    tenant = make_tenant(session)
    post_event(client, tenant, event())
    followup = session.scalars(select(Followup)).one()
    followup.status = "sent"
    session.add(TrackedLink(account_id=tenant.account.id, code="abc123", followup_id=followup.id,
                            target_url="https://book.example.com/s/sess_42", click_count=1))
    session.commit()
    response = post_event(client, tenant, event("session.completed", id="evt_2"))
    assert response.status_code == 200
    session.expire_all()
    booking = session.scalars(select(Booking)).one()
    assert booking.source == "link" and booking.followup_id == followup.id
    assert session.get(Followup, followup.id).status == "sent"


def test_completed_before_abandoned_means_no_followup(client, session) -> None:
    tenant = make_tenant(session)
    post_event(client, tenant, event("session.completed", id="evt_2"))
    response = post_event(client, tenant, event(id="evt_1"))
    assert response.status_code == 200 and response.json()["followup_id"] is None
    assert _count(session, Followup) == 0


def test_events_of_another_account_never_touch_this_one(client, session) -> None:
    ours = make_tenant(session)
    theirs = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    post_event(client, ours, event())
    response = post_event(client, theirs, event())  # same event id and phone, other account
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    contacts = session.scalars(select(Contact)).all()
    assert sorted(c.account_id for c in contacts) == sorted([ours.account.id, theirs.account.id])
