"""Delivering outbound webhooks: the outbox row written with the fact, the signed POST on RQ, retries
and the reconciler.

The delivery row is the truth; an RQ job only carries its id. Each attempt is claimed in the
database (attempt n → n+1) before the POST, so two runs of the same job cannot both send it, and
the claim pushes `next_attempt_at` past the request's timeout so the reconciler leaves an attempt
in flight alone. A failed attempt (non-2xx, timeout, connection error) schedules the next one with
backoff under the same `webhook-id`; when Redis was down or lost the job, the reconciler enqueues
every due delivery whose job is missing.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rq.job import Job
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from core.db import on_commit, session_scope, utcnow
from core.outbox import enqueue_after_commit
from core.queue import enqueue, ensure_repeating, get_redis, keep_repeating
from core.settings import get_settings
from integrations.endpoints import refusal
from integrations.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)
DELIVER_JOB = "integrations.delivery.deliver"
RECONCILE_JOB = "integrations.delivery.reconcile_deliveries"
RECONCILE_JOB_ID = "webhooks-reconcile"
RECONCILE_EVERY_SECONDS = 60
# After the first attempt: the schedule the Standard Webhooks specification suggests (5 s … 10 h).
BACKOFF_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60  # longer than any attempt; a worker that died mid-POST is retried after it
USER_AGENT = "textdesk-webhooks/1"
KEEP_LOG_DAYS = 30  # delivered and failed rows older than this leave the log


def new_webhook_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def job_id(delivery_id: int, attempt: int) -> str:
    """The job that makes attempt `attempt + 1`: one id per attempt, so a re-enqueue replaces, never doubles."""
    return f"webhook-{delivery_id}-{attempt}"


def record(session: Session, account_id: int, event_type: str,
           data: Callable[[], dict[str, Any]]) -> list[WebhookDelivery]:
    """Write one delivery per active endpoint of the account subscribed to `event_type`, in this
    transaction; their first attempts are enqueued once it commits. `data` is built only when an
    endpoint takes the event (most accounts have none, and every text and status announces one)."""
    subscribed = [e for e in _active_endpoints(session, account_id) if event_type in (e.events or [])]
    if not subscribed:
        return []
    now = utcnow()
    body = {"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data()}
    rows = [WebhookDelivery(account_id=account_id, endpoint_id=e.id, webhook_id=new_webhook_id(), type=event_type,
                            payload=body, status="pending", attempt=0, max_attempt=MAX_ATTEMPTS, next_attempt_at=now)
            for e in subscribed]
    session.add_all(rows)
    session.flush()
    for row in rows:
        enqueue_on_commit(session, row)
    return rows


_ACTIVE_ENDPOINTS = select(WebhookEndpoint).where(  # built once: every inbound batch asks
    WebhookEndpoint.account_id == bindparam("account_id"), WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)


def _active_endpoints(session: Session, account_id: int) -> list[WebhookEndpoint]:
    """The account's active endpoints, read once per transaction: a follow-up sweep records several
    events for each of its texts, and endpoints change only in transactions of their own."""
    transaction = session.get_transaction()
    cached: tuple[object, dict[int, list[WebhookEndpoint]]] | None = session.info.get("webhook_endpoints")
    if cached is None or cached[0] is not transaction:
        cached = session.info["webhook_endpoints"] = (transaction, {})
    if account_id not in cached[1]:
        cached[1][account_id] = list(session.scalars(_ACTIVE_ENDPOINTS, {"account_id": account_id}))
    return cached[1][account_id]


def enqueue_attempt(delivery_id: int, attempt: int, at: datetime) -> None:
    if at <= utcnow():
        enqueue(DELIVER_JOB, delivery_id, job_id=job_id(delivery_id, attempt))
    else:
        enqueue(DELIVER_JOB, delivery_id, job_id=job_id(delivery_id, attempt), at=at.astimezone(UTC))


def enqueue_on_commit(session: Session, delivery: WebhookDelivery) -> None:
    """The row's next attempt, in this transaction's outbox: on RQ after the commit, or once Redis is back
    (the reconciler also covers a job Redis lost)."""
    at = delivery.next_attempt_at or utcnow()
    enqueue_after_commit(session, DELIVER_JOB, delivery.id, job_id=job_id(delivery.id, delivery.attempt),
                         at=at.astimezone(UTC) if at > utcnow() else None)
    on_commit(session, lambda: keep_repeating(RECONCILE_JOB, RECONCILE_JOB_ID, RECONCILE_EVERY_SECONDS))


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    attempt: int  # the number of this attempt (1 = first)
    url: str
    secret: str
    webhook_id: str
    body: str


def deliver(delivery_id: int, now: datetime | str | None = None) -> dict[str, Any]:
    """The RQ job: claim the delivery's next attempt, POST it signed, record what the receiver answered."""
    clock = datetime.fromisoformat(now) if isinstance(now, str) else (now or utcnow())
    with session_scope() as session:
        claimed = _claim(session, delivery_id, clock)
    if not isinstance(claimed, Attempt):
        return claimed
    try:
        status_code, error = post(claimed, clock)
    except Exception as exc:  # recorded like any failed attempt, so the retry schedule still ends
        log.exception("webhook delivery %s failed unexpectedly", delivery_id)
        status_code, error = None, f"{type(exc).__name__}: {exc}"[:500]
    with session_scope() as session:
        result = _record(session, claimed, status_code, error, clock)
    log.info("webhook delivery %s", result)
    return result


def _claim(session: Session, delivery_id: int, clock: datetime) -> Attempt | dict[str, Any]:
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.status != "pending":
        return {"delivery": delivery_id, "outcome": "skipped"}
    if row.next_attempt_at is not None and row.next_attempt_at > clock + timedelta(seconds=1):
        return {"delivery": delivery_id, "outcome": "not_due"}  # an old job; the row's own job comes later
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    if endpoint is None or not endpoint.active:
        row.status, row.error, row.next_attempt_at = "failed", "the endpoint was deactivated", None
        return {"delivery": delivery_id, "outcome": "failed", "error": row.error}
    claimed = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending", WebhookDelivery.attempt == row.attempt,
    ).values(attempt=row.attempt + 1, next_attempt_at=clock + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return {"delivery": delivery_id, "outcome": "skipped"}
    # The exact bytes signed are the bytes sent; the body is fixed at the event, only the timestamp header moves.
    body = json.dumps(row.payload, separators=(",", ":"))
    return Attempt(delivery_id, row.attempt + 1, endpoint.url, endpoint.secret, row.webhook_id, body)


def post(attempt: Attempt, clock: datetime) -> tuple[int | None, str | None]:
    """One signed POST; (status code, None) on 2xx, else (status code or None, what went wrong)."""
    if not get_settings().webhooks_allow_private:
        refused = refusal(attempt.url)  # checked again at send time: DNS may point elsewhere by now
        if refused:
            return None, refused
    signed_at = clock.astimezone(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": attempt.webhook_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": Webhook(attempt.secret).sign(attempt.webhook_id, signed_at, attempt.body),
    }
    try:
        response = httpx.post(attempt.url, content=attempt.body.encode(), headers=headers,
                              timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.TimeoutException:
        return None, f"timed out after {TIMEOUT_SECONDS:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}".strip()


def _record(session: Session, attempt: Attempt, status_code: int | None, error: str | None,
            clock: datetime) -> dict[str, Any]:
    row = session.get(WebhookDelivery, attempt.delivery_id)
    if row is None:  # the endpoint was deleted meanwhile
        return {"delivery": attempt.delivery_id, "outcome": "gone"}
    row.status_code, row.error = status_code, error
    if error is None:
        row.status, row.delivered_at, row.next_attempt_at = "delivered", clock, None
        return {"delivery": row.id, "attempt": attempt.attempt, "outcome": "delivered"}
    if row.status != "pending":
        return {"delivery": row.id, "attempt": attempt.attempt, "outcome": "failed", "error": error}
    if row.attempt >= row.max_attempt:
        row.status, row.next_attempt_at = "failed", None
        return {"delivery": row.id, "attempt": attempt.attempt, "outcome": "gave_up", "error": error}
    # The n-th retry of this round (a resend starts a new round of MAX_ATTEMPTS).
    retry = row.attempt - (row.max_attempt - MAX_ATTEMPTS)
    row.next_attempt_at = clock + timedelta(seconds=BACKOFF_SECONDS[min(retry, len(BACKOFF_SECONDS)) - 1])
    enqueue_on_commit(session, row)
    return {"delivery": row.id, "attempt": attempt.attempt, "outcome": "retry",
            "next_attempt_at": row.next_attempt_at.isoformat(), "error": error}


def resend(session: Session, row: WebhookDelivery) -> WebhookDelivery:
    """Send the same message (same webhook-id) again now, with a fresh round of retries."""
    row.status, row.error, row.next_attempt_at = "pending", None, utcnow()
    row.max_attempt = row.attempt + MAX_ATTEMPTS
    session.flush()
    enqueue_on_commit(session, row)
    return row


_LIVE = ("queued", "scheduled", "started", "deferred")


def _job_alive(redis: Any, key: str) -> bool:
    return Job.exists(key, connection=redis) and Job.fetch(key, connection=redis).get_status(refresh=False) in _LIVE


def reconcile(session: Session, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Enqueue every due pending delivery whose job is missing (Redis was down, flushed, or a worker died)."""
    now = now or utcnow()
    redis = get_redis()
    rows = session.execute(select(WebhookDelivery.id, WebhookDelivery.attempt).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)).all()
    enqueued = 0
    for delivery_id, attempt in rows:
        if not _job_alive(redis, job_id(delivery_id, attempt)):
            enqueue(DELIVER_JOB, delivery_id, job_id=job_id(delivery_id, attempt))
            enqueued += 1
    if enqueued:
        log.info("webhook reconciler enqueued %d of %d due deliveries", enqueued, len(rows))
    return {"checked": len(rows), "enqueued": enqueued}


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget finished deliveries older than KEEP_LOG_DAYS; pending ones stay whatever their age."""
    cutoff = (now or utcnow()) - timedelta(days=KEEP_LOG_DAYS)
    result = session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.status.in_(("delivered", "failed")), WebhookDelivery.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reconcile_deliveries() -> dict[str, int]:
    """Periodic (RQ Repeat): enqueue due deliveries whose job is missing; prune the old log."""
    try:
        with session_scope() as session:
            return reconcile(session) | {"pruned": prune(session)}
    except Exception:  # the next run retries; a failure must not end the repeat chain
        log.exception("webhook reconciler failed")
        return {"checked": 0, "enqueued": 0, "errors": 1}


def ensure_reconciler(delay_seconds: int = 0) -> bool:
    """Schedule the periodic reconciler unless it is already on RQ; True if it was scheduled now."""
    return ensure_repeating(RECONCILE_JOB, RECONCILE_JOB_ID, RECONCILE_EVERY_SECONDS, delay_seconds)


def start_reconciler() -> None:
    """At worker start: one reconcile pass now, and the repeating one if Redis lost it."""
    ensure_reconciler(delay_seconds=RECONCILE_EVERY_SECONDS)
    enqueue(RECONCILE_JOB)
