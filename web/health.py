"""Health and metrics for load balancers and Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from litestar import MediaType, Response, get
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text

from core.db import get_engine
from core.queue import QUEUE_NAMES, get_queue, get_redis


@get("/healthz", media_type=MediaType.JSON, opt={"exclude_from_auth": True}, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


def _check_redis() -> str | None:
    try:
        get_redis().ping()
    except Exception as exc:
        return f"redis unreachable: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


@get("/readyz", media_type=MediaType.JSON, sync_to_thread=True)
def readyz() -> Response[dict[str, Any]]:
    """Database and Redis reachable; otherwise 503 naming which is not."""
    problems = [p for p in (_check_database(), _check_redis()) if p]
    if problems:
        return Response({"status": "unavailable", "problems": problems}, status_code=503)
    return Response({"status": "ready", "database": "ok", "redis": "ok"})


class QueueDepthCollector(Collector):
    """Queue depths read from Redis at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queued = GaugeMetricFamily("textdesk_queue_jobs", "RQ jobs waiting, by queue and state",
                                   labels=["queue", "state"])
        try:
            for name in QUEUE_NAMES:
                queue = get_queue(name)
                queued.add_metric([name, "queued"], queue.count)
                queued.add_metric([name, "scheduled"], ScheduledJobRegistry(queue=queue).count)
                queued.add_metric([name, "failed"], queue.failed_job_registry.count)
        except Exception:  # Redis down: /readyz says so; the scrape still answers
            return
        yield queued


_collector = QueueDepthCollector()
try:
    REGISTRY.register(_collector)
except ValueError:  # already registered by an earlier app in this process (tests)
    pass


class MetricsController(PrometheusController):
    path = "/metrics"
    openmetrics_format = False


ROUTES: list[Any] = [healthz, readyz, MetricsController]
