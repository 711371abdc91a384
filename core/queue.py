"""Redis and RQ: one connection per process, the queues, and enqueue-after-commit."""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from redis import Redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from rq import Queue, Repeat
from rq import Retry as JobRetry
from rq.job import Job
from rq.scheduler import RQScheduler

from core.settings import get_settings, on_reset

log = logging.getLogger(__name__)

QUEUE_NAMES = ("default",)


class RedisNotConfigured(RuntimeError):
    pass


def redis_url() -> str:
    url = get_settings().redis_url
    if not url:
        raise RedisNotConfigured(
            "TEXTDESK_REDIS_URL is not set: run `textdesk serve` (it starts an embedded Redis) or point it at a server"
        )
    return url


# A connection that went stale (Redis restarted) is retried on a fresh one instead of failing the caller.
REDIS_RETRY: dict[str, Any] = {"retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
                               "retry_on_error": [RedisConnectionError, RedisTimeoutError]}
ASYNC_REDIS_RETRY: dict[str, Any] = {"retry": AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), 3),
                                     "retry_on_error": [RedisConnectionError, RedisTimeoutError]}
# Per web process: requests wait up to 5 s for one of these connections rather than failing at a cap.
ASYNC_POOL_CONNECTIONS = 64


@lru_cache(maxsize=1)
def get_redis() -> Redis:
    """This process's Redis client (thread-safe pool: one connection per concurrent caller)."""
    return Redis.from_url(redis_url(), socket_connect_timeout=2, health_check_interval=30, **REDIS_RETRY)


def async_redis() -> AsyncRedis:
    """A new asyncio client for the web app's event loop (sessions and websocket fan-out)."""
    pool = AsyncBlockingConnectionPool.from_url(redis_url(), max_connections=ASYNC_POOL_CONNECTIONS, timeout=5,
                                                socket_connect_timeout=2, health_check_interval=30)
    return AsyncRedis(connection_pool=pool, **ASYNC_REDIS_RETRY)



def reset_redis() -> None:
    if get_redis.cache_info().currsize:
        get_redis().close()
    get_redis.cache_clear()


on_reset(reset_redis)


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(job: str, *args: Any, job_id: str | None = None, at: datetime | None = None,
            retry: list[int] | None = None, **kwargs: Any) -> Any:
    """Enqueue the job function named `job` (dotted path: no import needed to schedule work) now,
    or at `at` on a worker with the scheduler, with an optional deterministic id; `retry`: the
    seconds to wait before each retry after a failure."""
    queue = get_queue()
    options: dict[str, Any] = {"job_id": job_id, "failure_ttl": 7 * 86400,
                               "retry": JobRetry(max=len(retry), interval=retry) if retry else None}
    if at is not None:
        return queue.enqueue_at(at, job, *args, **options, **kwargs)
    return queue.enqueue(job, *args, **options, **kwargs)


def ensure_repeating(job: str, job_id: str, every_seconds: int, delay_seconds: int = 0) -> bool:
    """Keep `job` running every `every_seconds` (RQ's Repeat re-schedules the same id after each run, on
    any worker with the scheduler) unless it already is; True if it was scheduled now."""
    redis = get_redis()
    if Job.exists(job_id, connection=redis):
        if Job.fetch(job_id, connection=redis).get_status(refresh=False) in ("scheduled", "queued", "started",
                                                                                "deferred"):
            return False
    enqueue(job, job_id=job_id, at=datetime.now(UTC) + timedelta(seconds=delay_seconds),
            repeat=Repeat(times=1_000_000, interval=every_seconds))
    return True


# A worker's RQ scheduler (interval 1 s) refreshes its queue's lock to 61 s every second. A lock not
# refreshed for this long belongs to a scheduler that died with its worker (SIGKILL, a lost machine),
# and would otherwise keep every other worker's scheduler out, and every delayed job (a retry, a paced
# text, a follow-up) waiting, for the rest of its minute.
SCHEDULER_LOCK_TTL, SCHEDULER_SILENT_SECONDS = 61, 10
_RELEASE_SILENT_LOCK = """
local ttl = redis.call('TTL', KEYS[1])
if ttl >= 0 and ttl <= tonumber(ARGV[1]) then return redis.call('DEL', KEYS[1]) end
return 0
"""


def release_dead_scheduler_locks() -> list[str]:
    """Free each queue's scheduler lock whose holder stopped refreshing it (atomically, so a live
    holder's refresh is never undone); a worker's maintenance then takes it over. The queues freed."""
    redis = get_redis()
    release = redis.register_script(_RELEASE_SILENT_LOCK)
    freed = [name for name in QUEUE_NAMES if release(keys=[RQScheduler.get_locking_key(name)],
                                                     args=[SCHEDULER_LOCK_TTL - SCHEDULER_SILENT_SECONDS])]
    if freed:
        log.warning("released the scheduler lock of %s: its worker stopped refreshing it", ", ".join(freed))
    return freed


_repeats_checked: dict[str, float] = {}


def keep_repeating(job: str, job_id: str, every_seconds: int) -> None:
    """Restore a repeating job if Redis lost it (asked at most once a period per process; a Redis
    outage just leaves it to the next ask or the next worker start)."""
    if time.monotonic() - _repeats_checked.get(job_id, -math.inf) < every_seconds:
        return
    try:
        ensure_repeating(job, job_id, every_seconds, delay_seconds=every_seconds)
    except (RedisError, OSError):
        return
    _repeats_checked[job_id] = time.monotonic()
