"""A booking reaches the business's endpoint signed per Standard Webhooks, is retried under the same
webhook-id until it is accepted, is accepted once, and survives Redis losing its job.

Real database, real Redis and RQ worker; only the receiver's HTTP is mocked (respx).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.registry import ScheduledJobRegistry
from standardwebhooks import Webhook

import core.outbox
from bookings.calendar import BuiltinCalendar
from core.queue import get_queue, get_redis
from integrations import delivery
from tests.integrations.helpers import HOOK_URL, book, deliveries, integrated_shop


@pytest.fixture(autouse=True)
def _crm_on_example_com(monkeypatch: pytest.MonkeyPatch) -> None:
    # crm.example.com does not resolve on a test machine; the address check has tests of its own.
    monkeypatch.setenv("TEXTDESK_WEBHOOKS_ALLOW_PRIVATE", "1")


def _verified(secret: str, request: httpx.Request) -> dict:
    return Webhook(secret).verify(request.content, dict(request.headers))


def test_booking_created_is_delivered_signed_and_verified_by_the_reference_library(client, session, worker):
    setup = integrated_shop(client, session)
    assert setup.endpoint["secret"].startswith("whsec_")
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(204)
        booking = book(session, setup.shop)
        worker()
    assert receiver.call_count == 1
    request = receiver.calls.last.request
    body = _verified(setup.endpoint["secret"], request)
    assert body["type"] == "booking.created" and body["timestamp"].endswith("Z")
    data = body["data"]
    assert (data["id"], data["status"], data["source"], data["job_type"]) == (
        booking.id, "booked", "agent", "Water heater repair")
    assert data["starts_at"] == booking.starts_at.isoformat()
    assert data["contact"] == {"id": setup.shop.contact.id, "phone": "+14155550134", "name": "Dana Reyes"}
    assert data["session_ref"] == "sess_42"
    row = deliveries(session)[0]
    assert request.headers["webhook-id"] == row.webhook_id
    assert (row.status, row.attempt, row.status_code, row.error) == ("delivered", 1, 204, None)
    # A tampered body fails the same check.
    tampered = httpx.Request("POST", HOOK_URL, content=request.content.replace(b"booked", b"cancel"),
                             headers=request.headers)
    with pytest.raises(Exception, match="signature"):
        _verified(setup.endpoint["secret"], tampered)


def test_retried_after_two_500s_and_a_timeout_under_one_webhook_id_and_accepted_once(
        client, session, worker, monkeypatch):
    monkeypatch.setattr(delivery, "BACKOFF_SECONDS", (0,) * 7)  # the real schedule is 5 s, 5 min, 30 min …
    setup = integrated_shop(client, session)
    with respx.mock:
        receiver = respx.post(HOOK_URL)
        receiver.side_effect = [httpx.Response(500, text="boom"), httpx.Response(500),
                                httpx.ReadTimeout("read timed out"), httpx.Response(200)]
        book(session, setup.shop)
        worker()
        assert receiver.call_count == 4
        ids = {call.request.headers["webhook-id"] for call in receiver.calls}
        assert len(ids) == 1
        for call in receiver.calls:  # each attempt is freshly signed and verifies
            assert _verified(setup.endpoint["secret"], call.request)["type"] == "booking.created"
        row = deliveries(session)[0]
        assert (row.status, row.attempt, row.status_code, row.webhook_id) == ("delivered", 4, 200, ids.pop())
        # Nothing sends it again: not a second worker run, not the reconciler, not a stray duplicate job.
        delivery.enqueue_attempt(row.id, 3, row.created_at)
        delivery.reconcile_deliveries()
        worker()
        assert delivery.deliver(row.id)["outcome"] == "skipped"
        assert receiver.call_count == 4


def test_a_failed_attempt_waits_for_its_backoff_and_the_log_says_why(client, session, worker):
    setup = integrated_shop(client, session)
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(503, text="maintenance")
        book(session, setup.shop)
        worker()
    assert receiver.call_count == 1
    row = deliveries(session)[0]
    assert (row.status, row.attempt, row.status_code) == ("pending", 1, 503)
    assert row.error == "HTTP 503: maintenance"
    assert 4 <= (row.next_attempt_at - row.created_at).total_seconds() <= 60
    scheduled = ScheduledJobRegistry(queue=get_queue())
    assert delivery.job_id(row.id, 1) in scheduled.get_job_ids()
    log = client.get(f"/api/v1/webhook-endpoints/{setup.endpoint['id']}/deliveries", headers=setup.tenant.auth).json()
    assert log == [{"webhook_id": row.webhook_id, "type": "booking.created", "status": "pending", "attempt": 1,
                    "status_code": 503, "error": "HTTP 503: maintenance",
                    "next_attempt_at": row.next_attempt_at.isoformat(), "delivered_at": None,
                    "created_at": row.created_at.isoformat()}]


def test_two_copies_of_one_attempt_send_it_once(client, session, worker):
    setup = integrated_shop(client, session)
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(200)
        book(session, setup.shop)
        row = deliveries(session)[0]
        get_queue().enqueue(delivery.DELIVER_JOB, row.id)  # as if the reconciler raced the first job
        worker()
    assert receiver.call_count == 1 and deliveries(session)[0].status == "delivered"


def test_sent_once_redis_is_back_after_the_enqueue_failed(client, session, worker, monkeypatch):
    setup = integrated_shop(client, session)

    real_enqueue = core.outbox.enqueue

    def redis_down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(200)
        monkeypatch.setattr(core.outbox, "enqueue", redis_down)
        book(session, setup.shop)  # commits; the after-commit hand-over fails: the job waits in the outbox
        monkeypatch.setattr(core.outbox, "enqueue", real_enqueue)
        worker()
        assert receiver.call_count == 0 and deliveries(session)[0].status == "pending"
        assert delivery.reconcile_deliveries() == {"checked": 1, "enqueued": 1, "pruned": 0}
        worker()
    assert receiver.call_count == 1 and deliveries(session)[0].status == "delivered"


def test_sent_after_redis_lost_its_jobs_when_a_worker_starts(client, session, worker):
    setup = integrated_shop(client, session, events=["booking.created", "booking.cancelled"])
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(200)
        booking = book(session, setup.shop)
        get_redis().flushdb()  # Redis restarted without its data
        worker()
        assert receiver.call_count == 0
        delivery.start_reconciler()  # what `textdesk worker` does first
        worker()
    assert receiver.call_count == 1
    assert json.loads(receiver.calls.last.request.content)["data"]["id"] == booking.id
    assert [r.status for r in deliveries(session)] == ["delivered"]
    assert get_redis().exists("rq:job:" + delivery.RECONCILE_JOB_ID)  # and it keeps running every minute


def test_resend_sends_the_same_webhook_id_again(client, session, worker):
    setup = integrated_shop(client, session)
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(200)
        book(session, setup.shop)
        worker()
        row = deliveries(session)[0]
        url = f"/api/v1/webhook-endpoints/{setup.endpoint['id']}/deliveries/{row.webhook_id}/resend"
        answer = client.post(url, headers=setup.tenant.auth)
        assert answer.status_code == 202 and answer.json()["status"] == "pending"
        worker()
    assert receiver.call_count == 2
    assert {c.request.headers["webhook-id"] for c in receiver.calls} == {row.webhook_id}
    row = deliveries(session)[0]
    assert (row.status, row.attempt) == ("delivered", 2)


def test_gives_up_after_the_last_retry_and_a_resend_starts_a_new_round(client, session, worker, monkeypatch):
    monkeypatch.setattr(delivery, "BACKOFF_SECONDS", (0,) * 7)
    setup = integrated_shop(client, session)
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(500)
        book(session, setup.shop)
        worker()
        assert receiver.call_count == delivery.MAX_ATTEMPTS == 8
        row = deliveries(session)[0]
        assert (row.status, row.attempt, row.next_attempt_at) == ("failed", 8, None)
        assert delivery.reconcile_deliveries()["enqueued"] == 0  # a failed delivery is not retried by itself
        receiver.respond(200)
        url = f"/api/v1/webhook-endpoints/{setup.endpoint['id']}/deliveries/{row.webhook_id}/resend"
        assert client.post(url, headers=setup.tenant.auth).status_code == 202
        worker()
    assert receiver.call_count == 9
    row = deliveries(session)[0]
    assert (row.status, row.attempt, row.status_code, row.error) == ("delivered", 9, 200, None)


def test_the_readme_verification_snippet_accepts_a_real_delivery(client, session, worker):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    snippet = readme.split("Verifying a delivery in Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    setup = integrated_shop(client, session)
    with respx.mock:
        receiver = respx.post(HOOK_URL).respond(204)
        book(session, setup.shop)
        worker()
    request = receiver.calls.last.request
    namespace: dict = {}
    exec(snippet.replace("whsec_…", setup.endpoint["secret"]), namespace)
    assert namespace["handle"](request.content, dict(request.headers)) == 204
    assert namespace["seen"] == {request.headers["webhook-id"]}
    assert namespace["handle"](request.content.replace(b"booked", b"cancel"), dict(request.headers)) == 400


def test_the_log_keeps_finished_deliveries_for_30_days_and_pending_ones_until_sent(client, session, monkeypatch):
    setup = integrated_shop(client, session, events=["booking.created", "booking.cancelled"])
    monkeypatch.setattr(delivery, "enqueue", lambda *a, **k: None)  # no worker here: only the rows matter
    booking = book(session, setup.shop)
    BuiltinCalendar().cancel(session, setup.shop.account, booking, contact_id=setup.shop.contact.id)
    session.commit()
    old, recent = deliveries(session)
    old.status, old.created_at = "delivered", old.created_at - timedelta(days=31)
    recent.created_at = recent.created_at - timedelta(days=31)  # still pending: kept
    session.commit()
    assert delivery.reconcile_deliveries()["pruned"] == 1
    assert [r.webhook_id for r in deliveries(session)] == [recent.webhook_id]
