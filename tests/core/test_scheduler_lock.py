"""A worker killed with its RQ scheduler does not hold every other worker's delayed jobs for a minute."""

from __future__ import annotations

from datetime import UTC, datetime

from rq.scheduler import RQScheduler

from core.queue import SCHEDULER_LOCK_TTL, enqueue, get_queue, get_redis, release_dead_scheduler_locks
from web.cli import WORKER_MAINTENANCE_SECONDS, build_worker

LOCK = RQScheduler.get_locking_key("default")


def test_a_lock_its_scheduler_stopped_refreshing_is_released() -> None:
    # What a SIGKILLed worker's scheduler leaves: its lock, no longer refreshed, 20 s of silence in.
    get_redis().set(LOCK, "scheduler-of-a-killed-worker", ex=SCHEDULER_LOCK_TTL - 20)
    assert release_dead_scheduler_locks() == ["default"]
    assert get_redis().get(LOCK) is None


def test_a_lock_its_scheduler_keeps_refreshing_is_left_alone() -> None:
    get_redis().set(LOCK, "a-live-scheduler", ex=SCHEDULER_LOCK_TTL - 1)  # refreshed a second ago
    assert release_dead_scheduler_locks() == []
    assert get_redis().get(LOCK) == b"a-live-scheduler"


def test_delayed_jobs_run_again_once_a_dead_schedulers_lock_is_released(worker) -> None:
    job = enqueue("os.getpid", at=datetime(2020, 1, 1, tzinfo=UTC))  # long due
    get_redis().set(LOCK, "scheduler-of-a-killed-worker", ex=SCHEDULER_LOCK_TTL - 20)
    worker()
    assert job.get_status(refresh=True) == "scheduled"  # the dead scheduler's lock kept it waiting
    release_dead_scheduler_locks()
    worker()
    assert job.get_status(refresh=True) == "finished"
    assert get_queue().count == 0


def test_an_idle_worker_comes_round_to_its_maintenance_every_maintenance_interval() -> None:
    # Maintenance (which takes a freed scheduler lock over) runs only between waits for a job.
    worker = build_worker()
    assert worker.dequeue_timeout <= WORKER_MAINTENANCE_SECONDS
