"""Work a process repeats on its own clock, in a daemon thread.

For what must keep going whichever worker dies: a repeating RQ job needs RQ's scheduler, whose lock
a SIGKILLed worker keeps for a minute, and its chain ends when the worker running it is killed. A
thread in every worker has neither weakness; the work must be safe to run in several at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from redis.exceptions import RedisError

from core.db import database_unreachable

log = logging.getLogger(__name__)


def start_periodic(name: str, every_seconds: float, work: Callable[[], object]) -> threading.Event:
    """Run `work` every `every_seconds` (first after one period) until the returned event is set;
    a failure is logged and the next period tries again."""
    stop = threading.Event()

    def loop() -> None:
        away = False
        while not stop.wait(every_seconds):
            try:
                work()
                away = False
            except Exception as exc:  # the next period tries again
                if not _part_away(exc):
                    log.exception("%s failed", name)
                elif not away:  # one line per outage, not a traceback every period
                    log.warning("%s: %s is unreachable (%s); waiting for it", name,
                                "the database" if database_unreachable(exc) else "redis", type(exc).__name__)
                away = _part_away(exc)

    threading.Thread(target=loop, name=name, daemon=True).start()
    return stop


def _part_away(exc: Exception) -> bool:
    return database_unreachable(exc) or isinstance(exc, (RedisError, ConnectionError))
