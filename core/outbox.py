"""The outbox: a job that must follow a commit is a row written in the same transaction.

`enqueue_after_commit` adds the row; once the transaction commits, the job goes to RQ and the row
is deleted. If Redis is away at that moment, the row stays, and the relay (a thread in every worker,
`start_relay`) hands it to RQ as soon as Redis answers again, oldest first, so a thread's texts keep
their order. A rollback drops the row with everything else: no job for work that never happened.
Jobs must be idempotent (they are: each claims its row before acting), because a relay that dies
between enqueueing and deleting hands the same job over again.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import JSON, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, BigId, UTCDateTime, get_engine, get_sessionmaker, on_commit, utcnow
from core.periodic import start_periodic
from core.queue import enqueue

log = logging.getLogger(__name__)
RELAY_EVERY_SECONDS = 0.5
# The committing process relays its own rows at once; the relay only takes rows older than this.
RELAY_GRACE = timedelta(seconds=2)


class OutboxJob(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(200))  # dotted name of the job function
    args: Mapped[list[Any]] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(200))
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry: Mapped[list[int] | None] = mapped_column(JSON)  # RQ retry intervals, one per retry
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def enqueue_after_commit(session: Session, job: str, *args: Any, job_id: str | None = None,
                         at: datetime | None = None, retry: list[int] | None = None) -> None:
    """Record the job in this transaction; it reaches RQ after the commit, or later if Redis is away."""
    row = OutboxJob(job=job, args=list(args), job_id=job_id, run_at=at, retry=retry, created_at=utcnow())
    session.add(row)
    on_commit(session, lambda: _relay_one(row))


def _hand_over(row: OutboxJob) -> None:
    enqueue(row.job, *row.args, job_id=row.job_id, at=row.run_at, retry=row.retry)


def _relay_one(row: OutboxJob) -> None:
    """Right after the commit, in the committing process: hand the job over, then forget the row."""
    try:
        _hand_over(row)
    except RedisError:
        log.warning("redis unavailable: job %s (%s) kept in the outbox for the relay", row.id, row.job)
        return
    with get_engine().begin() as conn:
        conn.execute(delete(OutboxJob).where(OutboxJob.id == row.id))


def relay(limit: int = 500, now: datetime | None = None) -> int:
    """Hand every waiting job to RQ, oldest first; stops at the first Redis failure. Returns how many."""
    cutoff = (now or utcnow()) - RELAY_GRACE
    done = 0
    with get_sessionmaker()() as session:
        rows = session.scalars(select(OutboxJob).where(OutboxJob.created_at <= cutoff)
                               .order_by(OutboxJob.id).limit(limit)).all()
        for row in rows:
            try:
                _hand_over(row)
            except RedisError:
                row.attempts += 1
                session.commit()
                log.warning("redis unavailable: %d jobs wait in the outbox", len(rows) - done)
                return done
            session.execute(delete(OutboxJob).where(OutboxJob.id == row.id))
            session.commit()
            done += 1
    if done:
        log.info("outbox relayed %d jobs", done)
    return done


def _relay_all() -> None:
    while relay() == 500:
        pass


def start_relay() -> threading.Event:
    """Run the relay in a daemon thread of this process (a worker); set the event to stop it."""
    return start_periodic("textdesk-outbox", RELAY_EVERY_SECONDS, _relay_all)
