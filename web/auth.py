"""Who is calling: a browser session (cookie, server-side in Redis) or an API token (Bearer).

Both end up as a `CurrentUser` in `request.user`; every query a handler makes is scoped by
`request.user.account_id`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.security.session_auth import SessionAuth, SessionAuthMiddleware
from litestar.stores.base import Store
from litestar.types import Empty, Message, Scope
from litestar.utils.dataclass import extract_dataclass_items
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from core.db import session_scope
from core.inputs import id_in_range
from inbox.accounts import active_user, user_for_token
from inbox.models import User

log = logging.getLogger(__name__)

# Paths a person or provider reaches without logging in.
PUBLIC_PATHS = ["/login", "/healthz", "/readyz", "/metrics", "/schema", "/webhooks", "/l/", "/static", "/favicon"]
@dataclass(frozen=True)
class CurrentUser:
    id: int
    account_id: int
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        return cls(id=user.id, account_id=user.account_id, email=user.email, name=user.name, role=user.role)


def _load_user(user_id: Any) -> CurrentUser | None:
    with session_scope() as session:
        user = active_user(session, int(user_id)) if user_id else None  # deactivated: logged out
        return CurrentUser.of(user) if user else None


def _load_token_user(token: str) -> CurrentUser | None:
    with session_scope() as session:
        user = user_for_token(session, token)
        return CurrentUser.of(user) if user else None


async def retrieve_user(session_data: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:

    return await to_thread.run_sync(_load_user, session_data.get("user_id"))


_ROTATE = "textdesk.rotate_session"
_LOADED_ID = "textdesk.session_id"  # the cookie named a session the server had stored
_LOADED_DATA = "textdesk.session_data"
# What generate_session_id() makes (32 random bytes, hex): anything else was not issued by us.
_ISSUED_ID = re.compile(r"^[0-9a-f]{64}$")

# Paths that never read or write a session: providers, probes, tracked links and assets must keep
# answering without Redis, and a caller without a cookie must not leave a key behind.
SESSIONLESS_PATHS = ["/webhooks", "/healthz", "/readyz", "/metrics", "/schema", "/l/", "/static", "/favicon"]


def rotate_session_id(scope: Scope) -> None:
    """Give this response's session a fresh id (at login): an id planted before login is worthless."""
    scope[_ROTATE] = True  # type: ignore[literal-required]


class LoginSessionBackend(ServerSideSessionBackend):
    """Server-side sessions that exist only for people who logged in.

    No cookie, a malformed one, an unknown id or an unreachable store: the request is logged out,
    nothing is written and no key is created. A session is written only when a handler put
    something in it (login), and always under an id the server generated, never the client's.
    """

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key) or ""
        if not _ISSUED_ID.match(session_id):
            return {}
        try:
            data = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
        except (RedisError, OSError):
            log.warning("session store unreachable; request treated as logged out", exc_info=True)
            return {}
        if data is None:
            return {}
        scope: Any = connection.scope
        scope[_LOADED_ID], scope[_LOADED_DATA] = session_id, data
        return self.deserialize_data(data)

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        return connection.scope.get(_LOADED_ID) or self.generate_session_id()  # type: ignore[return-value]

    async def store_in_message(self, scope_session: Any, message: Message,
                               connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        scope: Any = connection.scope
        loaded: str | None = scope.get(_LOADED_ID)
        store = self.config.get_store_from_app(scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        # Raising here would break a response already under way, so a store failure is logged instead.
        try:
            if scope_session is Empty or not scope_session:
                if loaded:
                    await self.delete(loaded, store=store)
                if loaded or connection.cookies.get(self.config.key):
                    headers.add("Set-Cookie", Cookie(value="null", key=self.config.key, expires=0,
                                                     **cookie).to_header(header=""))
                return
            session_id = loaded
            if scope.pop(_ROTATE, False) or not loaded:
                if loaded:
                    await self.delete(loaded, store=store)
                session_id = self.generate_session_id()
            data = self.serialize_data(scope_session, scope)
            if session_id != loaded or data != scope.get(_LOADED_DATA):
                await self.set(session_id, data, store=store)  # type: ignore[arg-type]
            headers.add("Set-Cookie", Cookie(value=session_id, key=self.config.key, **cookie).to_header(header=""))
        except (RedisError, OSError):
            log.exception("session store unreachable; the session was not saved")


class LoginSessionConfig(ServerSideSessionConfig):
    _backend_class = LoginSessionBackend


class SessionOrTokenMiddleware(SessionAuthMiddleware):
    """Session auth that also accepts `Authorization: Bearer <token>` for integrations."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if header.lower().startswith("bearer "):

            user = await to_thread.run_sync(_load_token_user, header[7:].strip())
            if user is None:
                raise NotAuthorizedException("invalid or revoked API token")
            return AuthenticationResult(user=user, auth="token")
        return await super().authenticate_request(connection)


def build_session_auth(store: Store, secure: bool) -> SessionAuth[CurrentUser, Any]:
    return SessionAuth[CurrentUser, Any](
        retrieve_user_handler=retrieve_user,
        session_backend_config=LoginSessionConfig(
            store="sessions", key="textdesk_session", httponly=True, samesite="lax", secure=secure,
            max_age=14 * 86400, renew_on_access=True,
            # No session lookup (a Redis read) where nobody logs in: with Redis gone, /readyz must still
            # answer its 503 and static files must still load.
            exclude=[f"^{p}" for p in SESSIONLESS_PATHS],
        ),
        authentication_middleware_class=SessionOrTokenMiddleware,
        exclude=[f"^{p}" for p in PUBLIC_PATHS] + ["^/$"],
    )


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only account admins."""
    if not getattr(connection.user, "is_admin", False):
        raise PermissionDeniedException("only an admin of this account can do that")


def scoped(session: Session, model: Any, object_id: int, user: CurrentUser) -> Any:
    """The row if it belongs to the caller's account, else a 404 (another account's id looks absent)."""

    # The database would reject an id wider than its column with an error, not an empty answer.
    row = session.get(model, object_id) if id_in_range(model, object_id) else None
    if row is None or getattr(row, "account_id", None) != user.account_id:
        raise NotFoundException(f"{model.__name__.lower()} {object_id} not found")
    return row
