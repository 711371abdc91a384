"""The follow-up job and its number's turn: a near turn is claimed and sent by the same run, a far one
goes to a paced delivery job, and a STOP that commits in between still blocks the text."""

from __future__ import annotations

import time

from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

import inbox.delivery
from core.db import get_sessionmaker
from core.outbox import OutboxJob
from core.queue import get_queue, get_redis
from followups.jobs import send_followup
from followups.models import Followup
from inbox import pacing
from inbox.consent import opt_out
from inbox.delivery import deliver_message
from inbox.models import Contact, Event, Message
from inbox.sending import delivery_job_id
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, past_due, post_event


def _due_followup(client, session) -> tuple[object, Followup]:  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    session.expire_all()
    return tenant, session.scalars(select(Followup)).one()


def _text(session) -> Message:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(select(Message).where(Message.direction == "outbound")).one()


def test_a_followup_whose_turn_is_near_is_sent_by_its_own_run_with_no_second_job(client, session) -> None:
    _, followup = _due_followup(client, session)
    get_queue().empty()
    result = send_followup(followup.id)
    message = _text(session)
    assert result["outcome"] == "sent" and result["message"] == message.id
    assert message.provider_sid and message.status in ("sent", "delivered")
    assert get_queue().count == 0 and session.scalars(select(OutboxJob)).all() == []  # no delivery job
    statuses = [e.payload["status"] for e in session.scalars(select(Event).where(Event.type == "message.status"))]
    assert statuses[0] == "sending"  # the claim is announced as before
    assert deliver_message(message.id)["result"].startswith("skipped")  # a stray delivery run sends nothing


def test_a_followup_whose_number_is_booked_ahead_leaves_its_text_to_a_paced_delivery(client, session,
                                                                                     monkeypatch) -> None:
    tenant, followup = _due_followup(client, session)
    tenant.number.mps = 1
    session.commit()
    for _ in range(5):  # the number's next five seconds are taken
        pacing.reserve(get_redis(), [tenant.number])
    result = send_followup(followup.id)
    message = _text(session)
    assert result["outcome"] == "sent" and (message.status, message.provider_sid) == ("queued", None)
    job_id = delivery_job_id(message.id, paced=True)
    assert job_id in ScheduledJobRegistry(queue=get_queue()).get_job_ids()
    slot_at = Job.fetch(job_id, connection=get_redis()).args[1]
    assert slot_at >= time.time() + 3  # it holds the slot it was given, seconds ahead
    slept: list[float] = []
    monkeypatch.setattr(inbox.delivery.pacing, "sleep_until", slept.append)
    assert deliver_message(message.id, slot_at)["result"] == "sent"
    assert slept == [slot_at] and _text(session).provider_sid


def test_a_stop_committed_after_the_claim_blocks_the_followup_text(client, session, monkeypatch) -> None:
    _, followup = _due_followup(client, session)
    calls: list[str] = []

    class Provider:
        def send(self, **kwargs: object) -> None:
            calls.append("send")

    def stop_at_the_gate(redis, number, timeout=30.0):  # type: ignore[no-untyped-def]
        with get_sessionmaker()() as other:
            opt_out(other, other.get(Contact, followup.contact_id), source="keyword", raw_text="STOP")
            other.commit()

    monkeypatch.setattr(inbox.delivery, "get_provider", Provider)
    monkeypatch.setattr(inbox.delivery.pacing, "pass_gate", stop_at_the_gate)
    assert send_followup(followup.id)["outcome"] == "sent"
    message = _text(session)
    assert (message.status, message.block_reason, calls) == ("blocked", "opted_out", [])
