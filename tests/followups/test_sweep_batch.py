"""A sweep decides its whole batch in one transaction: the per-contact limit holds inside the batch,
and texts a failing send loop did not reach go back to RQ's delivery instead of waiting for recovery."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.queue import get_queue
from followups import jobs
from followups.models import Followup
from inbox import delivery
from inbox.models import Message
from inbox.sending import delivery_job_id
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, past_due, post_event


def _post_due(client, tenant, count: int, phone_of) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        response = post_event(client, tenant, event(id=f"evt_{i}", session_id=f"sess_{i}", phone=phone_of(i),
                                                    occurred_at=past_due(tenant)))
        assert response.status_code == 200, response.text


def test_two_sessions_of_one_contact_in_one_batch_bring_one_text(client, session) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant, phone="+14155550134")
    _post_due(client, tenant, 2, lambda i: "+14155550134")
    assert jobs.send_due_followups() == {"leased": 2, "sent": 1, "blocked": 1}
    session.expire_all()
    followups = list(session.scalars(select(Followup).order_by(Followup.id)))
    assert [f.status for f in followups] == ["sent", "blocked"]
    assert followups[1].block_reason == "duplicate"
    assert session.scalar(select(Message).where(Message.direction == "outbound")).body.startswith("Hi Dana")


def test_texts_a_failing_send_did_not_reach_go_back_to_delivery(client, session, worker, monkeypatch) -> None:
    tenant = make_tenant(session)
    phones = [f"+1415555{300 + i:04d}" for i in range(3)]
    for phone in phones:
        daytime_contact(session, tenant, phone=phone)
    _post_due(client, tenant, 3, lambda i: phones[i])
    real, calls = delivery._hand_to_provider, []

    def provider_client_breaks_on_the_second(claimed):  # type: ignore[no-untyped-def]
        calls.append(claimed.message_id)
        if len(calls) == 2:
            raise RuntimeError("the provider's client blew up")
        return real(claimed)

    monkeypatch.setattr(delivery, "_hand_to_provider", provider_client_breaks_on_the_second)
    get_queue().empty()
    with pytest.raises(RuntimeError):
        jobs.send_due_followups()
    session.expire_all()
    first, second, third = (session.get(Message, f.sent_message_id)
                            for f in session.scalars(select(Followup).order_by(Followup.id)))
    assert [first.id, second.id] == calls
    assert first.provider_sid is not None  # taken by the provider before the failure, and recorded
    assert second.status == "sending"  # claimed, not known to be unsent: recovery asks the provider
    assert third.status == "queued"
    assert delivery_job_id(third.id) in get_queue().job_ids
    monkeypatch.setattr(delivery, "_hand_to_provider", real)
    worker()
    session.expire_all()
    assert session.get(Message, third.id).provider_sid is not None
    assert {f.status for f in session.scalars(select(Followup))} == {"sent"}
