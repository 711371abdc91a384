"""Texts a killed worker left behind are resumed within seconds, never sent twice, never left `sending`."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
from rq.scheduler import RQScheduler
from sqlalchemy import update

import inbox.delivery
import inbox.recovery
from core.db import utcnow
from core.queue import get_redis
from inbox.delivery import deliver_message
from inbox.models import Message
from inbox.recovery import recover_deliveries, start_recovery
from inbox.sending import send_text
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread
from tests.inbox.test_delivery import API, MSG_SID, created, twilio  # noqa: F401  (fixture)


def reply(session) -> Message:  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone=daytime_zone())
    message = send_text(session, thread, "On our way", sender="csr", user_id=tenant.csr.id)
    session.commit()
    return message


def killed_while_sending(session, message: Message) -> None:  # type: ignore[no-untyped-def]
    """What a worker killed after its claim leaves: `sending`, no provider id, claimed a while ago."""
    session.execute(update(Message).where(Message.id == message.id)
                    .values(status="sending", claimed_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    get_redis().flushdb()  # its job went with it


def listed(*messages: dict) -> httpx.Response:
    """Twilio's documented answer to a Message list."""
    return httpx.Response(200, json={"messages": list(messages), "page": 0, "page_size": 100})


def test_a_text_the_provider_never_got_is_sent_once_after_its_worker_was_killed(session, worker, twilio) -> None:  # noqa: F811
    sent = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    twilio.get(API).mock(return_value=listed())
    message = reply(session)
    killed_while_sending(session, message)
    assert recover_deliveries()["requeued"] == 1
    worker()
    session.expire_all()
    stored = session.get(Message, message.id)
    assert (stored.status, stored.provider_sid, sent.call_count) == ("sending", MSG_SID, 1)


def test_a_text_the_provider_took_gets_its_id_back_and_is_not_sent_again(session, worker, twilio) -> None:  # noqa: F811
    sent = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    lookup = twilio.get(API).mock(return_value=listed(created(status="delivered")))
    message = reply(session)
    killed_while_sending(session, message)
    assert recover_deliveries()["found_sent"] == 1
    worker()
    session.expire_all()
    stored = session.get(Message, message.id)
    assert (stored.status, stored.provider_sid, sent.call_count) == ("delivered", MSG_SID, 0)
    asked = lookup.calls.last.request.url.params
    assert (asked["To"], asked["From"]) == (stored.to_number, stored.from_number)


def test_a_queued_text_whose_job_was_lost_is_enqueued_again(session, worker, twilio) -> None:  # noqa: F811
    sent = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    reply(session)
    get_redis().flushdb()  # the worker (or Redis) lost the job
    assert recover_deliveries()["reenqueued"] == 0  # too young to call lost
    assert recover_deliveries(now=utcnow() + timedelta(minutes=1))["reenqueued"] == 1
    worker()
    assert sent.call_count == 1


def test_a_slow_run_whose_text_was_recovered_meanwhile_does_not_send_it_too(session, worker, twilio,  # noqa: F811
                                                                              monkeypatch) -> None:
    sent = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    twilio.get(API).mock(return_value=listed())
    message = reply(session)

    def stalled_at_the_gate(redis, number, timeout=30.0):  # type: ignore[no-untyped-def]
        # Long enough that recovery takes the text back and another worker gets it.
        recover_deliveries(now=utcnow() + timedelta(minutes=1))

    with monkeypatch.context() as patched:
        patched.setattr(inbox.delivery.pacing, "pass_gate", stalled_at_the_gate)
        assert deliver_message(message.id)["result"] == "claimed elsewhere"
    worker()
    assert sent.call_count == 1


def test_recovery_runs_in_each_worker_even_while_a_killed_worker_holds_the_rq_scheduler(
        session, worker, twilio, monkeypatch) -> None:  # noqa: F811
    sent = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    twilio.get(API).mock(return_value=listed())
    message = reply(session)
    killed_while_sending(session, message)
    # What a SIGKILLed worker's scheduler leaves for a minute: no other worker can schedule a repeating job.
    get_redis().set(RQScheduler.get_locking_key("default"), "scheduler-of-a-killed-worker", ex=60)
    monkeypatch.setattr(inbox.recovery, "RECOVER_EVERY_SECONDS", 1)
    stop = start_recovery()
    try:
        for _ in range(100):  # a bounded wait for the recovery to come round, not a timing check
            session.expire_all()
            if session.get(Message, message.id).status == "queued":
                break
            time.sleep(0.1)
        assert session.get(Message, message.id).status == "queued"  # back for a worker to send, once
    finally:
        stop.set()
    worker()
    session.expire_all()
    assert (session.get(Message, message.id).provider_sid, sent.call_count) == (MSG_SID, 1)
