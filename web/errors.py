"""Errors answered for who asked: a page for a person's browser, `{"detail": …}` JSON for API clients.

A browser asks with `Accept: text/html`; the JSON API, webhooks and the schema always answer JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.exceptions import ClientException, HTTPException
from litestar.response import Redirect, Template
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_MACHINE_PREFIXES = ("/api/", "/webhooks/", "/schema", "/ws", "/metrics", "/healthz", "/readyz")

TITLES = {
    400: "That request did not work",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That is not allowed here",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "textdesk is not ready",
}
HINTS = {
    403: "Only an admin of this account can open it. Ask an admin, or go back to the inbox.",
    404: "The link may be old, or the thread may belong to another account.",
    500: "The error was logged. Try again in a moment; if it keeps happening, tell whoever runs textdesk.",
}


def unprocessable(detail: str) -> ClientException:
    """A 422 whose detail starts with the field a person can fix (`business_hours.mon[0]: …`, docs/api.md)."""
    return ClientException(status_code=422, detail=detail)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A person's browser (it asks for HTML), not an API client, on a path people open."""
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(status: int, detail: str, *, title: str | None = None, hint: str | None = None) -> Template:
    return Template("error.html", status_code=status, media_type=MediaType.HTML,
                    context={"status": status, "title": title or TITLES.get(status, "That did not work"),
                             "detail": detail, "hint": hint if hint is not None else HINTS.get(status, "")})


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
    if wants_html(request):
        return error_page(status, str(exc.detail))
    body: dict[str, Any] = {"status_code": status, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(body, status_code=status, headers=exc.headers)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    if wants_html(request):
        return error_page(500, "An unexpected error stopped this page.")
    return Response({"status_code": 500, "detail": "internal server error"}, status_code=500)


def unstorable_value(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A safety net under the explicit checks (core.inputs): a value from the request that the database
    # cannot hold (an integer wider than its column, a NUL in text) is the caller's error, not ours.
    log.warning("%s %s: value the database cannot hold", request.method, request.url.path, exc_info=exc)
    return Response({"status_code": 400, "detail": "a value in this request is out of range or is not storable text"},
                    status_code=400)


def redis_down(request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    # A 503 tells a provider, a widget or a browser to come back, which a 500 does not.
    log.error("%s %s: redis unavailable", request.method, request.url.path, exc_info=exc)
    return Response({"status_code": 503, "detail": "temporarily unavailable, try again shortly"},
                    status_code=503, headers={"Retry-After": "5"})


@get("/favicon.ico", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def favicon() -> Redirect:
    """Browsers ask for /favicon.ico on their own; the icon itself is a static SVG."""
    return Redirect("/static/favicon.svg", status_code=301)


ROUTES: list[Any] = [favicon]
