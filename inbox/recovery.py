"""Recovering texts a worker left behind (killed, or its machine lost), every few seconds, in a
thread of every worker (not an RQ job, so no killed worker can stop it: see core/periodic.py).

- `sending` for a while with no provider id: the worker died around its provider call. The provider
  is asked whether it took the text; if it did, its id and status are stored (the status callbacks
  can now match), and if it did not, the text goes back to `queued` and is sent once.
- `queued` to go now, with no delivery job waiting, due or running: the job was lost with its
  worker (or with Redis's data); it is enqueued again. A delivery claims its row before sending,
  so a text is never sent twice however often this runs, or in how many workers at once (on
  PostgreSQL each row is also taken by one of them only, skipping rows another one holds).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from rq.job import Job
from sqlalchemy import or_, select, update

from core.db import session_scope, utcnow
from core.periodic import start_periodic
from core.queue import get_redis
from inbox.models import Message
from inbox.providers import ProviderError, get_provider
from inbox.sending import DEFERRED, SEND, delivery_job_id, enqueue_delivery
from inbox.status import apply_pending, apply_status

log = logging.getLogger(__name__)
STUCK_AFTER = timedelta(seconds=20)  # a delivery takes at most its pacing second and a provider call
LIVE_JOB_STATES = ("queued", "scheduled", "deferred")
RECOVER_EVERY_SECONDS = 5


def start_recovery() -> threading.Event:
    """At worker start: the recovery in a thread of this worker; set the event to stop it."""
    return start_periodic("textdesk-recovery", RECOVER_EVERY_SECONDS, recover_deliveries)


def _job_alive(message: Message, redis: Any, now: datetime) -> bool:
    ids = {delivery_job_id(message.id), delivery_job_id(message.id, paced=True)}
    if message.retry_at is not None:
        ids.add(delivery_job_id(message.id, message.retry_at))
    for job_id in ids:
        job = Job.fetch(job_id, connection=redis) if Job.exists(job_id, connection=redis) else None
        if job is None:
            continue
        status = job.get_status(refresh=False)
        if status in LIVE_JOB_STATES:
            return True
        if status == "started" and job.started_at and now - job.started_at.replace(tzinfo=now.tzinfo) < STUCK_AFTER:
            return True
    return False


def recover_deliveries(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Resume every text a lost worker left `sending` or without a job (every few seconds in each worker)."""
    now = now or utcnow()
    counts = {"found_sent": 0, "requeued": 0, "reenqueued": 0}
    requeued: list[int] = []
    with session_scope() as session:
        stuck = session.scalars(select(Message).where(
            Message.direction == "outbound", Message.status == "sending", Message.provider_sid.is_(None),
            Message.claimed_at < now - STUCK_AFTER).limit(limit).with_for_update(skip_locked=True)).all()
        provider = get_provider() if stuck else None
        for message in stuck:
            try:
                found = provider.find_sent(to=message.to_number or "", from_=message.from_number,  # type: ignore[union-attr]
                                           body=message.body, since=message.claimed_at or message.created_at)
            except ProviderError as exc:
                log.warning("cannot ask the provider about message %s yet: %s", message.id, exc)
                continue
            if found is not None:
                message.provider_sid, message.decision = found.sid, SEND
                apply_status(session, message, found.status)
                apply_pending(session, message)
                counts["found_sent"] += 1
            else:
                released = session.execute(update(Message).where(Message.id == message.id,
                                                                  Message.status == "sending")
                                           .values(status="queued", claimed_at=None))
                if released.rowcount == 1:  # type: ignore[attr-defined]
                    requeued.append(message.id)
    for message_id in requeued:  # its run is gone (or will find its claim taken): a new one sends it
        enqueue_delivery(message_id)
    counts["requeued"] = len(requeued)
    redis = get_redis()
    with session_scope() as session:
        waiting = session.scalars(select(Message).where(
            Message.direction == "outbound", Message.status == "queued", Message.provider_sid.is_(None),
            Message.decision.in_((SEND, DEFERRED)), Message.created_at < now - STUCK_AFTER,
            or_(Message.retry_at.is_(None), Message.retry_at < now - STUCK_AFTER)).order_by(Message.id)
            .limit(limit).with_for_update(skip_locked=True)).all()
        for message in waiting:
            if not _job_alive(message, redis, now):
                enqueue_delivery(message.id)
                counts["reenqueued"] += 1
    if any(counts.values()):
        log.info("delivery recovery: %s", counts)
    return counts
