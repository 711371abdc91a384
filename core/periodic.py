"""Work a process repeats on its own clock, in a daemon thread.

For what must keep going whichever worker dies: a repeating RQ job needs RQ's scheduler, whose lock
a SIGKILLed worker keeps for a minute, and its chain ends when the worker running it is killed. A
thread in every worker has neither weakness; the work must be safe to run in several at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def start_periodic(name: str, every_seconds: float, work: Callable[[], object]) -> threading.Event:
    """Run `work` every `every_seconds` (first after one period) until the returned event is set;
    a failure is logged and the next period tries again."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            try:
                work()
            except Exception:  # the database or Redis is away: the next period tries again
                log.exception("%s failed", name)

    threading.Thread(target=loop, name=name, daemon=True).start()
    return stop
