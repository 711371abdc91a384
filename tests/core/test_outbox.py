"""The outbox: work that must follow a commit survives Redis being away at that moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

import core.outbox
from core.db import utcnow
from core.outbox import OutboxJob, enqueue_after_commit, relay
from inbox.inbound import receive_sms
from inbox.models import Message
from inbox.sending import send_text
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread


@pytest.fixture
def redis_away(monkeypatch):  # type: ignore[no-untyped-def]
    """RQ cannot be reached: every hand-over to it fails as a lost connection does."""
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(core.outbox, "enqueue", refuse)
    return monkeypatch


def later() -> object:
    return utcnow() + timedelta(minutes=1)


def test_a_reply_and_a_stop_confirmation_committed_while_redis_is_away_go_out_once_it_is_back(
        session, worker, redis_away) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone=daytime_zone())
    reply = send_text(session, thread, "On our way", sender="csr", user_id=tenant.csr.id)
    session.commit()
    stop = receive_sms(session, to=tenant.number.phone, from_="+14155550177", body="STOP", provider_sid="SMstop1")
    session.commit()
    assert stop.reply is not None
    assert len(session.scalars(select(OutboxJob)).all()) == 2  # kept, not dropped

    redis_away.undo()  # Redis is back
    assert relay(now=later()) == 2
    worker()
    session.expire_all()
    assert session.get(Message, reply.id).status == "delivered"
    assert session.get(Message, stop.reply.id).status == "delivered"
    assert session.scalars(select(OutboxJob)).all() == []


def test_the_relay_hands_jobs_over_oldest_first_and_stops_at_the_first_failure(session, monkeypatch) -> None:
    for n in range(3):
        enqueue_after_commit(session, "inbox.delivery.deliver_message", n + 1000)
        session.commit()  # Redis is up: each is handed over at its commit …
    assert session.scalars(select(OutboxJob)).all() == []
    handed: list[int] = []
    monkeypatch.setattr(core.outbox, "_relay_one", lambda row: None)  # … now the commit hand-over is lost
    for n in range(3):
        enqueue_after_commit(session, "inbox.delivery.deliver_message", n)
        session.commit()

    def flaky(job, *args, **kwargs):  # type: ignore[no-untyped-def]
        if len(handed) == 2:
            raise RedisConnectionError("gone again")
        handed.append(args[0])

    monkeypatch.setattr(core.outbox, "enqueue", flaky)
    assert relay(now=later()) == 2
    assert handed == [0, 1]
    assert [row.args for row in session.scalars(select(OutboxJob))] == [[2]]


def test_a_rolled_back_transaction_leaves_no_job(session, redis_away) -> None:
    enqueue_after_commit(session, "inbox.delivery.deliver_message", 1)
    session.rollback()
    assert session.scalars(select(OutboxJob)).all() == []
    assert relay(now=later()) == 0


def test_the_relay_leaves_rows_the_committing_process_is_still_handing_over(session, redis_away) -> None:
    enqueue_after_commit(session, "inbox.delivery.deliver_message", 1)
    session.commit()
    redis_away.undo()
    assert relay() == 0  # younger than the grace period
    assert relay(now=later()) == 1
