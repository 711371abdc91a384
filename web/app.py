"""The Litestar app factory: plugins, middleware and routes, built from settings in one place."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.channels import ChannelsPlugin
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.redis import RedisStore
from litestar.template.config import TemplateConfig
from litestar.types import Receive, Scope, Send
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError

from core.db import provide_session, session_scope
from core.queue import async_redis
from core.settings import Settings, get_settings
from inbox.accounts import ValidationError, instance_secret
from web.auth import build_session_auth
from web.errors import http_error, redis_down, server_error, unstorable_value
from web.realtime import ResilientPubSubBackend
from web.wiring import wire
from webhooks.spool import SpoolReplayer
from webhooks.twilio import SPOOL_HANDLERS

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

# Every module that contributes HTTP or websocket handlers exposes a `ROUTES` list.
ROUTE_MODULES = (
    "web.health",
    "web.pages",
    "web.api",
    "web.ws",
    "web.links",
    "web.api_followups",
    "web.api_bookings",
    "web.api_contacts",
    "web.api_media",
    "web.settings_pages",
    "web.integrations",
    "web.dashboard",
    "web.simulator",
    "web.errors",
    "web.api_saved_replies",
    "web.api_snooze",
    "webhooks.twilio",
    "webhooks.scheduler",
)


class TokenAwareCSRFMiddleware(CSRFMiddleware):
    """CSRF for browsers; a request carrying `Authorization: Bearer` is an integration, not a browser."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"authorization" and value[:7].lower() == b"bearer ":
                    await self.app(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


def _route_handlers() -> list[Any]:
    handlers: list[Any] = []
    for name in ROUTE_MODULES:
        handlers.extend(importlib.import_module(name).ROUTES)
    return handlers


def _unauthorized(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    # A person in a browser is sent to the login page; an API client gets JSON it can read.
    if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", ""):
        return Response({"status_code": 401, "detail": exc.detail or "login required"}, status_code=401)
    return Redirect(f"/login?next={request.url.path}")


def _validation_error(_: Request[Any, Any, Any], exc: ValidationError) -> Response[Any]:
    return Response({"status_code": 400, "detail": str(exc)}, status_code=400)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    wire()
    aredis = async_redis()
    with session_scope() as session:
        secret = instance_secret(session, settings.secret_key)
    secure = settings.public_url.startswith("https://")
    # Probes, providers and customers' links carry no form a browser could be tricked into posting:
    # no CSRF token (and no cookie set on every probe, which cost more than the probe itself).
    csrf = CSRFConfig(secret=secret, cookie_secure=secure,
                      exclude=["^/webhooks", "^/l/", "^/login$", "^/healthz$", "^/readyz$", "^/metrics", "^/static"])
    channels = ChannelsPlugin(backend=ResilientPubSubBackend(redis=aredis), arbitrary_channels_allowed=True,
                              create_ws_route_handlers=False)
    # Load balancers' probes would drown the request metrics; /readyz's answer is the signal.
    prometheus = PrometheusConfig(app_name="textdesk", prefix="textdesk", group_path=True,
                                  exclude=["^/metrics", "^/static", "^/healthz$", "^/readyz$"])
    session_auth = build_session_auth(RedisStore(aredis, namespace="textdesk_sessions"), secure)

    async def close_redis() -> None:
        await aredis.aclose()

    # Webhooks kept on disk while the database was away are stored as soon as it answers again.
    spool_replayer = SpoolReplayer(SPOOL_HANDLERS)

    app = Litestar(
        route_handlers=[*_route_handlers(), create_static_files_router(path="/static", directories=[HERE / "static"])],
        plugins=[
            channels,
        ],
        dependencies={"db": Provide(provide_session)},
        middleware=[DefineMiddleware(TokenAwareCSRFMiddleware, config=csrf), prometheus.middleware],
        stores={"sessions": RedisStore(aredis, namespace="textdesk_sessions")},
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(title="textdesk", version="1", path="/schema"),
        exception_handlers={NotAuthorizedException: _unauthorized, ValidationError: _validation_error,
                            RedisError: redis_down, DataError: unstorable_value, OverflowError: unstorable_value,
                            HTTPException: http_error, Exception: server_error},
        on_startup=[spool_replayer.start],
        on_shutdown=[close_redis, spool_replayer.stop],
        on_app_init=[session_auth.on_app_init],
        debug=False,
    )
    app.state.settings = settings
    return app
