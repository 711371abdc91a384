"""Who is calling: a browser session (cookie, server-side in Redis) or an API token (Bearer).

Both end up as a `CurrentUser` in `request.user`; every query a handler makes is scoped by
`request.user.account_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.security.session_auth import SessionAuth, SessionAuthMiddleware
from litestar.stores.base import Store
from litestar.types import Empty, Message, Scope
from sqlalchemy.orm import Session

from core.db import session_scope
from inbox.accounts import user_for_token
from inbox.models import User

# Paths a person or provider reaches without logging in.
PUBLIC_PATHS = ["/login", "/healthz", "/readyz", "/metrics", "/schema", "/webhooks", "/l/", "/static", "/favicon"]
SESSIONLESS_PATHS = ["^/healthz", "^/readyz", "^/metrics", "^/static/", "^/favicon", "^/webhooks/"]


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
        user = session.get(User, int(user_id)) if user_id else None
        return CurrentUser.of(user) if user else None


def _load_token_user(token: str) -> CurrentUser | None:
    with session_scope() as session:
        user = user_for_token(session, token)
        return CurrentUser.of(user) if user else None


async def retrieve_user(session_data: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    from anyio import to_thread

    return await to_thread.run_sync(_load_user, session_data.get("user_id"))


_ROTATE = "textdesk.rotate_session"
_NEW_ID = "textdesk.new_session_id"


def rotate_session_id(scope: Scope) -> None:
    """Give this response's session a fresh id (at login): an id planted before login is worthless."""
    scope[_ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    async def store_in_message(self, scope_session: Any, message: Message,
                               connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        scope: Any = connection.scope
        if scope.pop(_ROTATE, False) and scope_session is not Empty:
            old = connection.cookies.get(self.config.key)
            if old:
                await self.delete(old, store=self.config.get_store_from_app(scope["app"]))
            scope[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        return connection.scope.get(_NEW_ID) or super().get_session_id(connection)  # type: ignore[return-value]


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


class SessionOrTokenMiddleware(SessionAuthMiddleware):
    """Session auth that also accepts `Authorization: Bearer <token>` for integrations."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            from anyio import to_thread

            user = await to_thread.run_sync(_load_token_user, header[7:].strip())
            if user is None:
                raise NotAuthorizedException("invalid or revoked API token")
            return AuthenticationResult(user=user, auth="token")
        return await super().authenticate_request(connection)


def build_session_auth(store: Store, secure: bool) -> SessionAuth[CurrentUser, Any]:
    return SessionAuth[CurrentUser, Any](
        retrieve_user_handler=retrieve_user,
        session_backend_config=RotatingSessionConfig(
            store="sessions", key="textdesk_session", httponly=True, samesite="lax", secure=secure,
            max_age=14 * 86400,
            # No session lookup (a Redis read) where nobody logs in: with Redis gone, /readyz must still
            # answer its 503 and static files must still load.
            exclude=SESSIONLESS_PATHS,
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
    from litestar.exceptions import NotFoundException

    row = session.get(model, object_id)
    if row is None or getattr(row, "account_id", None) != user.account_id:
        raise NotFoundException(f"{model.__name__.lower()} {object_id} not found")
    return row


# Failed logins: a Redis counter per email and per client address, so guessing is slow on every process.
LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_MAX_FAILURES_PER_EMAIL = 5
LOGIN_MAX_FAILURES_PER_ADDRESS = 20


def _login_keys(email: str, address: str) -> list[tuple[str, int]]:
    return [(f"textdesk:login_failures:email:{email.strip().lower()}", LOGIN_MAX_FAILURES_PER_EMAIL),
            (f"textdesk:login_failures:addr:{address}", LOGIN_MAX_FAILURES_PER_ADDRESS)]


def login_locked(email: str, address: str) -> int:
    """Seconds until another attempt is allowed for this email/address; 0 when it may try now."""
    from core.queue import get_redis

    redis = get_redis()
    wait = 0
    for key, limit in _login_keys(email, address):
        count = int(redis.get(key) or 0)
        if count >= limit:
            ttl = int(redis.ttl(key))
            wait = max(wait, ttl if ttl > 0 else LOGIN_WINDOW_SECONDS)
    return wait


def record_login_failure(email: str, address: str) -> None:
    """Count one failed login against the email and the client address."""
    from core.queue import get_redis

    redis = get_redis()
    for key, _ in _login_keys(email, address):
        # The window starts at the first failure (EXPIRE NX needs Redis 7; the embedded one is 6.2).
        if redis.incr(key) == 1 or redis.ttl(key) < 0:
            redis.expire(key, LOGIN_WINDOW_SECONDS)


def clear_login_failures(email: str) -> None:
    """A successful login forgives the email's earlier typos (not the address's)."""
    from core.queue import get_redis

    get_redis().delete(_login_keys(email, "")[0][0])
