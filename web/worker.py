"""The RQ worker `textdesk worker` runs: RQ's SimpleWorker (jobs in this process: no fork, so the
SQLAlchemy pool is never shared), and what it does while the database is away.

A job interrupted because the database did not answer has not failed: it goes back to the front of
its queue as it was, its retries untouched, and the worker takes no job until the database answers
again (asked twice a second, its heartbeat kept meanwhile). So nothing queued during an outage fails
for it, a repeating job (delivery recovery, the reconcilers; RQ repeats only a job that succeeded)
keeps repeating, and the backlog runs as soon as the database is back. Running a job again is safe:
every job claims its row before acting.
"""

from __future__ import annotations

import time
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.job import Job

from core.db import database_reachable, database_unreachable

DATABASE_POLL_SECONDS = 0.5


class PromptExitWorker(SimpleWorker):
    """RQ's SimpleWorker, its exit never held up by its command channel. redis-py's pubsub thread, when
    it reads the reply to RQ's UNSUBSCRIBE before RQ tells it to stop, waits RQ's 60 s sleep time for a
    subscription that will not come, and RQ joins it: a worker took a minute to stop. Told to stop
    first, the thread ends at that reply."""

    def unsubscribe(self) -> None:
        # What the thread's stop() does, but before RQ's UNSUBSCRIBE. redis-py has no public way to ask
        # without joining; were the flag renamed, this falls back to RQ's own order (and its wait).
        running = getattr(self.pubsub_thread, "_running", None)
        if running is not None:
            running.clear()
        super().unsubscribe()


class TextdeskWorker(PromptExitWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.database_away = False
        self._interrupted = False

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        exc: BaseException | None = exc_info[1] if len(exc_info) > 1 else None
        self._interrupted = exc is not None and database_unreachable(exc)
        if self._interrupted:
            self.log.warning("job %s interrupted: the database is unreachable (%s); it runs again once it answers",
                             job.id, type(exc).__name__)
            return
        super().handle_exception(job, *exc_info)

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None, exc_string: str = "",
                           execution: Any = None) -> None:
        if not self._interrupted:
            super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)
            return
        self._interrupted = False
        self.database_away = True
        with self.connection.pipeline() as pipeline:
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.execute()
        queue.enqueue_job(job, at_front=True)

    def check_for_suspension(self, burst: bool) -> None:
        """Before every job: RQ's suspension, then wait while the database is known to be away."""
        super().check_for_suspension(burst)
        if not self.database_away:
            return
        self.log.warning("worker %s: waiting for the database", self.name)
        started = time.monotonic()
        while not self._stop_requested and not database_reachable():
            try:
                self.heartbeat()
            except RedisError:  # Redis away too: the heartbeat waits for it like the jobs do
                pass
            time.sleep(DATABASE_POLL_SECONDS)
        if not self._stop_requested:
            self.database_away = False
            self.log.info("worker %s: the database answers again after %.1f s", self.name, time.monotonic() - started)

