"""`textdesk worker` while the database is away: a job the outage interrupts is put back as it was
(retries untouched, still repeating) and the worker takes no job until the database answers."""

from __future__ import annotations

import threading

from rq import Repeat
from rq.job import Job

import web.worker
from core import queue
from core.db import database_reachable
from core.queue import enqueue
from web.worker import TextdeskWorker

JOB = "inbox.recovery.recover_deliveries"  # a real job that reads the database first


def _worker() -> TextdeskWorker:
    return TextdeskWorker(list(queue.QUEUE_NAMES), connection=queue.get_redis())


def test_interrupted_job_goes_back_to_the_front_with_its_retries_untouched(database_switch) -> None:
    job = enqueue(JOB, job_id="interrupted", retry=[10, 30])
    later = enqueue(JOB, job_id="later")
    database_switch.take_away()
    worker = _worker()
    worker.work(burst=True, max_jobs=1)
    job = Job.fetch("interrupted", connection=queue.get_redis())
    assert job.get_status() == "queued"
    assert job.retries_left == 2
    assert queue.get_queue().job_ids == ["interrupted", "later"]
    assert job.id not in queue.get_queue().failed_job_registry
    assert worker.database_away

    database_switch.bring_back()
    worker.work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert later.get_status(refresh=True) == "finished"
    assert not worker.database_away


def test_repeating_job_interrupted_by_the_outage_keeps_repeating(database_switch) -> None:
    enqueue(JOB, job_id="repeating", repeat=Repeat(times=5, interval=60))
    database_switch.take_away()
    _worker().work(burst=True, max_jobs=1)
    database_switch.bring_back()
    _worker().work(burst=True)
    job = Job.fetch("repeating", connection=queue.get_redis())
    # RQ repeats a job only after it succeeds: it ran once the database was back, and is scheduled again.
    assert job.get_status() == "scheduled"
    assert job.repeats_left == 4


def test_worker_takes_no_job_until_the_database_answers(database_switch, monkeypatch) -> None:
    asked = threading.Semaphore(0)

    def reachable() -> bool:
        answer = database_reachable()
        asked.release()
        return answer

    monkeypatch.setattr(web.worker, "database_reachable", reachable)
    enqueue(JOB, job_id="first")
    waiting = enqueue(JOB, job_id="waiting")
    database_switch.take_away()
    worker = _worker()
    worker.work(burst=True, max_jobs=1)  # "first" is interrupted: the worker now knows
    seen: dict[str, object] = {}

    def bring_back_after_three_asks() -> None:
        try:
            for _ in range(3):
                assert asked.acquire(timeout=30)
            # Told no three times: the worker holds off, nothing ran, nothing failed.
            seen["queued"] = queue.get_queue().job_ids
            seen["failed"] = queue.get_queue().failed_job_registry.count
        finally:
            database_switch.bring_back()

    helper = threading.Thread(target=bring_back_after_three_asks)
    helper.start()
    worker.work(burst=True)  # returns once the database is back and the queue is empty
    helper.join(30)
    assert seen == {"queued": ["first", "waiting"], "failed": 0}
    assert waiting.get_status(refresh=True) == "finished"
