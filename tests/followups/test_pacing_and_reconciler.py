"""Pacing across an account's numbers, deterministic variants, and the reconciler on RQ."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from rq.job import Job

from core.queue import get_redis
from followups import scheduling
from followups.models import FollowupVariant
from followups.variants import pick
from inbox import pacing
from inbox.accounts import add_number
from tests.factories import make_tenant


def test_slots_never_exceed_each_numbers_rate_and_fill_the_earliest_first(session) -> None:
    tenant = make_tenant(session)
    tenant.number.mps = 2
    add_number(session, tenant.account.id, "+14155550101", transactional=True, mps=3)
    session.commit()
    numbers = pacing.numbers_for(session, tenant.account.id)
    now = 1_800_000_000.0
    slots = [pacing.reserve(get_redis(), numbers, now=now) for _ in range(50)]
    assert [s.at for s in slots] == sorted(s.at for s in slots)  # handed out in order
    for phone in {n.phone for n in numbers}:
        mps = next(n.mps for n in numbers if n.phone == phone)
        times = [s.at for s in slots if s.number.phone == phone]
        assert all(b - a >= 1 / mps - 1e-6 for a, b in pairwise(times))
    per = Counter(s.number.phone for s in slots)
    assert per == {"+14155550100": 20, "+14155550101": 30}  # 2:3, as their rates
    assert slots[-1].at - now < 10.1  # 50 texts at 5 per second


def test_numbers_not_registered_for_the_category_are_not_used(session) -> None:
    tenant = make_tenant(session)
    add_number(session, tenant.account.id, "+14155550101", marketing=True)
    session.commit()
    assert [n.phone for n in pacing.numbers_for(session, tenant.account.id)] == ["+14155550100"]


def test_variant_assignment_is_deterministic_and_follows_the_weights() -> None:
    variants = [FollowupVariant(id=1, name="a", weight=3), FollowupVariant(id=2, name="b", weight=1),
                FollowupVariant(id=3, name="off", weight=0)]
    picks = [pick(f"sess_{i}", variants).name for i in range(4000)]
    assert picks == [pick(f"sess_{i}", list(reversed(variants))).name for i in range(4000)]
    share = picks.count("a") / len(picks)
    assert 0.72 < share < 0.78 and "off" not in picks


def test_reconciler_is_scheduled_once_and_repeats_with_rq(session) -> None:
    redis = get_redis()
    assert scheduling.ensure_reconciler(redis, delay_seconds=60) is True
    assert scheduling.ensure_reconciler(redis, delay_seconds=60) is False
    job = Job.fetch(scheduling.RECONCILE_JOB_ID, connection=redis)
    assert job.func_name == scheduling.RECONCILE_JOB and job.repeats_left and job.repeat_intervals == [60]


def test_reconciler_job_runs_on_the_worker_and_keeps_repeating(session, worker) -> None:
    scheduling.ensure_reconciler(get_redis())
    worker()
    job = Job.fetch(scheduling.RECONCILE_JOB_ID, connection=get_redis())
    assert job.get_status() == "scheduled"  # Repeat put it back for the next run


def test_worker_start_runs_a_reconcile_pass_and_keeps_the_repeating_one(session) -> None:
    from rq.registry import ScheduledJobRegistry

    from core.queue import get_queue

    scheduling.start_reconciler()
    assert scheduling.RECONCILE_JOB_ID in ScheduledJobRegistry(queue=get_queue()).get_job_ids()
    assert [j.func_name for j in get_queue().jobs] == [scheduling.RECONCILE_JOB]


def test_texts_spread_over_the_numbers_when_all_are_free(session) -> None:
    tenant = make_tenant(session)
    add_number(session, tenant.account.id, "+14155550101", transactional=True, mps=10)
    add_number(session, tenant.account.id, "+14155550102", transactional=True, mps=10)
    session.commit()
    numbers = pacing.numbers_for(session, tenant.account.id)
    picks = [pacing.reserve(get_redis(), numbers, now=1_800_000_000.0 + i).number.phone for i in range(6)]
    assert picks == ["+14155550100", "+14155550101", "+14155550102"] * 2
