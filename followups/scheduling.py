"""Scheduling follow-ups: the database row is the truth; RQ only says when to look for due ones.

Each follow-up puts a *sweep* on RQ for its due time, with an id derived from that second, so the
follow-ups due in the same second share one job (a burst of a thousand is one job, not a thousand).
A sweep leases a batch of due rows in one statement (`SKIP LOCKED` on PostgreSQL), so two workers
never take the same one, and sends them; a full batch first puts the next sweep on RQ so another
worker takes the next batch meanwhile. A sweep that dies leaves its rows to the next once the lease
ends. If Redis is unreachable the rows stay `scheduled` and the reconciler puts their sweeps on RQ
once Redis is back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from rq.job import Job
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bookings.models import BookingSession
from core.db import on_commit, utcnow
from core.outbox import enqueue_after_commit
from core.queue import enqueue, ensure_repeating, get_redis, keep_repeating
from core.settings import get_settings
from followups import variants
from followups.models import Followup
from inbox.models import Account

log = logging.getLogger(__name__)
SWEEP_JOB = "followups.jobs.send_due_followups"
RECONCILE_JOB = "followups.jobs.reconcile_followups"
RECONCILE_JOB_ID = "followups-reconcile"
RECONCILE_EVERY_SECONDS = 60
STALE_AFTER_SECONDS = 120
BATCH = 25  # follow-ups per sweep: enough to spread RQ's cost, few enough that other jobs interleave
DUE_EARLY = timedelta(seconds=1)
LEASE_SECONDS = 60  # longer than a batch takes; a sweep that died frees its rows after it


def delay_for(account: Account) -> timedelta:
    """The account's delay, or TEXTDESK_FOLLOWUP_DELAY_SECONDS."""
    seconds = account.followup_delay_seconds
    return timedelta(seconds=get_settings().followup_delay_seconds if seconds is None else seconds)


def job_id(due_at: datetime) -> str:
    """The sweep for one due second: a second enqueue for the same second replaces it, never doubles."""
    return f"followups-due-{int(due_at.timestamp())}"


# Retried soon after a transient failure (a locked database); the rows make a retry harmless.
SEND_RETRY_INTERVALS = [2, 10, 30]


def enqueue_sweep(at: datetime) -> None:
    """Put the sweep for `at` on RQ (it runs at once if that is past)."""
    enqueue(SWEEP_JOB, job_id=job_id(at), at=at.astimezone(UTC), retry=SEND_RETRY_INTERVALS)


def enqueue_next_sweep(after_id: int) -> None:
    """The sweep that takes the batch after the one ending at follow-up `after_id`, on RQ now."""
    enqueue(SWEEP_JOB, job_id=f"followups-due-after-{after_id}", retry=SEND_RETRY_INTERVALS)


def enqueue_sweep_on_commit(session: Session, at: datetime) -> None:
    """The sweep for `at`, in this transaction's outbox: on RQ once the row is committed, or when Redis is back."""
    enqueue_after_commit(session, SWEEP_JOB, job_id=job_id(at), at=at.astimezone(UTC), retry=SEND_RETRY_INTERVALS)
    on_commit(session, lambda: keep_repeating(RECONCILE_JOB, RECONCILE_JOB_ID, RECONCILE_EVERY_SECONDS))


def lease_due(session: Session, now: datetime, limit: int | None = None) -> list[int]:
    """Lease up to `limit` (a batch) due follow-ups, oldest first, to this run in one statement; their ids."""
    due = (select(Followup.id)
           # RQ schedules in whole seconds, so a sweep may start up to a second before its due time.
           .where(Followup.status == "scheduled", Followup.due_at <= now + DUE_EARLY,
                  or_(Followup.lease_until.is_(None), Followup.lease_until < now))
           .order_by(Followup.due_at, Followup.id).limit(limit or BATCH)
           .with_for_update(skip_locked=True))  # PostgreSQL; SQLite has one writer and ignores it
    leased = session.execute(update(Followup).where(Followup.id.in_(due.scalar_subquery()))
                             .values(lease_until=now + timedelta(seconds=LEASE_SECONDS))
                             .returning(Followup.id).execution_options(synchronize_session=False))
    return sorted(leased.scalars())


def release(session: Session, followup_ids: list[int]) -> None:
    """Give back the leases of rows a run did not get to: the next sweep takes them."""
    session.execute(update(Followup).where(Followup.id.in_(followup_ids), Followup.status == "scheduled")
                    .values(lease_until=None).execution_options(synchronize_session=False))


def schedule_followup(session: Session, account: Account, booking: BookingSession,
                      occurred_at: datetime) -> Followup | None:
    """One follow-up per booking session, due `occurred_at` + the delay; None if the session has one."""
    existing = session.scalar(select(Followup).where(Followup.session_id == booking.id))
    if existing is not None:
        return None
    choice = variants.choose(session, account, booking.external_id)
    followup = Followup(account_id=account.id, session_id=booking.id, contact_id=booking.contact_id,
                        thread_id=booking.thread_id, due_at=occurred_at + delay_for(account),
                        status="scheduled", mode=choice.mode, variant=choice.variant)
    session.add(followup)
    session.flush()
    enqueue_sweep_on_commit(session, followup.due_at)
    return followup


def sweep_missing(redis: Any, due_at: datetime, now: datetime) -> bool:
    """No sweep for this due second, or one that ended long ago while a row of it is still scheduled."""
    key = job_id(due_at)
    if not Job.exists(key, connection=redis):
        return True
    # A sweep that ended (crashed, or was lost with Redis) and left a row scheduled.
    ended = Job.fetch(key, connection=redis).get_status(refresh=False) in ("finished", "failed", "stopped", "canceled")
    return ended and due_at < now - timedelta(seconds=STALE_AFTER_SECONDS)


def reconcile(session: Session, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Put on RQ the sweep of every scheduled follow-up's due second that has none (e.g. Redis was down
    or lost its data)."""
    now = now or utcnow()
    redis = get_redis()
    due_times = list(session.scalars(select(Followup.due_at).where(Followup.status == "scheduled")
                                     .order_by(Followup.due_at).limit(limit)))
    seconds = {job_id(due_at): due_at for due_at in due_times}
    enqueued = 0
    for due_at in seconds.values():
        if sweep_missing(redis, due_at, now):
            enqueue_sweep(due_at)
            enqueued += 1
    if enqueued:
        log.info("reconciler put %d sweeps on RQ for %d scheduled follow-ups", enqueued, len(due_times))
    return {"checked": len(due_times), "enqueued": enqueued}


def ensure_reconciler(redis: Any | None = None, delay_seconds: int = 0) -> bool:
    """Schedule the periodic reconciler unless it is already on RQ; True if it was scheduled now."""
    return ensure_repeating(RECONCILE_JOB, RECONCILE_JOB_ID, RECONCILE_EVERY_SECONDS, delay_seconds)


def start_reconciler() -> None:
    """At worker start: one reconcile pass now, and the repeating one if Redis lost it."""
    ensure_reconciler(delay_seconds=RECONCILE_EVERY_SECONDS)
    enqueue(RECONCILE_JOB)
