"""Scheduling follow-ups: the database row is the truth, the RQ job only carries its id.

The job is enqueued after commit with `enqueue_at` and an id derived from the row (follow-up id
and due time), so enqueuing the same follow-up twice leaves one job. If Redis is unreachable the
row stays `scheduled` and the reconciler enqueues it once Redis is back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from rq.job import Job
from sqlalchemy import select
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
SEND_JOB = "followups.jobs.send_followup"
RECONCILE_JOB = "followups.jobs.reconcile_followups"
RECONCILE_JOB_ID = "followups-reconcile"
RECONCILE_EVERY_SECONDS = 60
STALE_AFTER_SECONDS = 120


def delay_for(account: Account) -> timedelta:
    """The account's delay, or TEXTDESK_FOLLOWUP_DELAY_SECONDS."""
    seconds = account.followup_delay_seconds
    return timedelta(seconds=get_settings().followup_delay_seconds if seconds is None else seconds)


def job_id(followup_id: int, due_at: datetime) -> str:
    """Same follow-up and due time, same job id: a second enqueue replaces, never duplicates."""
    return f"followup-{followup_id}-{int(due_at.timestamp())}"


# Retried soon after a transient failure (a locked database); the row makes a retry harmless.
SEND_RETRY_INTERVALS = [2, 10, 30]


def enqueue_send(followup_id: int, at: datetime) -> None:
    """Put the send job on RQ for `at` (run at once if that is past); the id is derived from `at`."""
    enqueue(SEND_JOB, followup_id, job_id=job_id(followup_id, at), at=at.astimezone(UTC),
            retry=SEND_RETRY_INTERVALS)


def enqueue_send_on_commit(session: Session, followup_id: int, at: datetime) -> None:
    """The send job, in this transaction's outbox: on RQ once the row is committed, or when Redis is back."""
    enqueue_after_commit(session, SEND_JOB, followup_id, job_id=job_id(followup_id, at), at=at.astimezone(UTC),
                         retry=SEND_RETRY_INTERVALS)
    on_commit(session, lambda: keep_repeating(RECONCILE_JOB, RECONCILE_JOB_ID, RECONCILE_EVERY_SECONDS))


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
    enqueue_send_on_commit(session, followup.id, followup.due_at)
    return followup


def job_missing(redis: Any, followup: Followup, now: datetime) -> bool:
    """No job for the row's due time, or one that ended while the row is still scheduled."""
    key = job_id(followup.id, followup.due_at)
    if not Job.exists(key, connection=redis):
        return True
    # A run that ended (crash, or handed over to a paced job that was lost) and left the row scheduled.
    ended = Job.fetch(key, connection=redis).get_status(refresh=False) in ("finished", "failed", "stopped", "canceled")
    return ended and followup.due_at < now - timedelta(seconds=STALE_AFTER_SECONDS)


def reconcile(session: Session, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Enqueue every scheduled follow-up whose RQ job is missing (e.g. Redis was down or lost its data)."""
    now = now or utcnow()
    redis = get_redis()
    rows = session.scalars(select(Followup).where(Followup.status == "scheduled")
                           .order_by(Followup.due_at).limit(limit))
    checked = enqueued = 0
    for followup in rows:
        checked += 1
        if job_missing(redis, followup, now):
            enqueue_send(followup.id, followup.due_at)
            enqueued += 1
    if enqueued:
        log.info("reconciler enqueued %d of %d scheduled follow-ups", enqueued, checked)
    return {"checked": checked, "enqueued": enqueued}


def ensure_reconciler(redis: Any | None = None, delay_seconds: int = 0) -> bool:
    """Schedule the periodic reconciler unless it is already on RQ; True if it was scheduled now."""
    return ensure_repeating(RECONCILE_JOB, RECONCILE_JOB_ID, RECONCILE_EVERY_SECONDS, delay_seconds)


def start_reconciler() -> None:
    """At worker start: one reconcile pass now, and the repeating one if Redis lost it."""
    ensure_reconciler(delay_seconds=RECONCILE_EVERY_SECONDS)
    enqueue(RECONCILE_JOB)
