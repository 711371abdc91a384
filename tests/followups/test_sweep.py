"""The follow-up sweep: due rows are leased to one run at a time, a full batch brings the next sweep, and
rows a failed run did not reach, or a dead run held, go to the next one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.queue import get_queue
from followups import jobs, scheduling
from followups.models import Followup
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, past_due, post_event


def _due_followups(client, session, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    for i in range(count):
        phone = f"+1415555{200 + i:04d}"
        daytime_contact(session, tenant, phone=phone)
        response = post_event(client, tenant, event(id=f"evt_{i}", session_id=f"sess_{i}", phone=phone,
                                                    occurred_at=past_due(tenant)))
        assert response.status_code == 200, response.text
    session.expire_all()
    return list(session.scalars(select(Followup.id).order_by(Followup.id)))


def _statuses(session) -> dict[int, str]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return {f.id: f.status for f in session.scalars(select(Followup))}


def test_each_due_followup_is_leased_to_one_sweep_and_a_dead_sweeps_lease_ends(client, session) -> None:
    ids = _due_followups(client, session, 3)
    now = utcnow()
    first = scheduling.lease_due(session, now, limit=2)
    second = scheduling.lease_due(session, now, limit=2)
    session.commit()
    assert first == ids[:2] and second == ids[2:]
    assert scheduling.lease_due(session, now) == []  # all held
    later = now + timedelta(seconds=scheduling.LEASE_SECONDS + 1)  # the sweeps died without sending
    assert scheduling.lease_due(session, later) == ids


def test_a_followup_not_yet_due_is_not_leased(client, session) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event())  # due in 15 minutes
    assert scheduling.lease_due(session, utcnow()) == []


def test_a_full_batch_puts_the_next_sweep_on_rq_and_every_followup_goes_out_once(client, session, worker,
                                                                                 monkeypatch) -> None:
    monkeypatch.setattr(scheduling, "BATCH", 2)
    ids = _due_followups(client, session, 5)
    get_queue().empty()
    assert jobs.send_due_followups() == {"leased": 2, "sent": 2}
    assert [job.id for job in get_queue().jobs] == [f"followups-due-after-{ids[1]}"]
    worker()
    assert _statuses(session) == {i: "sent" for i in ids}


def test_rows_a_failed_sweep_did_not_reach_go_back_for_its_retry(client, session, monkeypatch) -> None:
    ids = _due_followups(client, session, 3)
    real = jobs._gate

    def fail_on_second(session, facts, followup_id: int, at):  # type: ignore[no-untyped-def]
        if followup_id == ids[1]:
            raise RuntimeError("composing the text blew up")
        return real(session, facts, followup_id, at)

    # The batch fails as a whole, is decided again one at a time, and stops at the bad row.
    monkeypatch.setattr(jobs, "_gate", fail_on_second)
    with pytest.raises(RuntimeError):
        jobs.send_due_followups()
    assert _statuses(session) == {ids[0]: "sent", ids[1]: "scheduled", ids[2]: "scheduled"}
    monkeypatch.setattr(jobs, "_gate", real)
    assert jobs.send_due_followups() == {"leased": 2, "sent": 2}  # the retry takes them at once
    assert set(_statuses(session).values()) == {"sent"}
