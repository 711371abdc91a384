"""Health and metrics for load balancers and Prometheus.

`/readyz` names what is down and nothing more (hosts, ports and database names go to the log).
`/metrics` wants `Authorization: Bearer $TEXTDESK_METRICS_TOKEN`; with no token configured it
answers only a direct loopback caller (no proxy in between), so a reverse proxy on the same
host cannot expose it by accident.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from litestar import MediaType, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rq.registry import ScheduledJobRegistry

from core.db import database_reachable
from core.queue import QUEUE_NAMES, get_queue, get_redis
from core.settings import get_settings

log = logging.getLogger(__name__)
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


@get("/healthz", media_type=MediaType.JSON, opt={"exclude_from_auth": True}, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        if database_reachable():
            return None
    except Exception:  # not a connection problem, but still not ready
        log.warning("readyz: database check failed", exc_info=True)
    log.warning("readyz: database unreachable")
    return "database unreachable"


def _check_redis() -> str | None:
    try:
        get_redis().ping()
    except Exception:
        log.warning("readyz: redis unreachable", exc_info=True)
        return "redis unreachable"
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


def _direct_loopback(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    if any(name in connection.headers for name in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(connection.client.host if connection.client else "").is_loopback
    except ValueError:
        return False


def metrics_access(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the metrics token if one is configured, else a direct loopback caller only."""
    token = get_settings().metrics_token
    if token:
        given = connection.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise NotAuthorizedException("Authorization: Bearer <TEXTDESK_METRICS_TOKEN> required")
    elif not _direct_loopback(connection):
        raise PermissionDeniedException("/metrics answers loopback only; set TEXTDESK_METRICS_TOKEN to scrape it")


class MetricsController(PrometheusController):
    path = "/metrics"
    openmetrics_format = False
    guards = [metrics_access]  # noqa: RUF012 (Litestar reads it as a class attribute)


ROUTES: list[Any] = [healthz, readyz, MetricsController]
