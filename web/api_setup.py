"""Business setup in the JSON API (admins only): users, sending numbers and the scheduler webhook
secret. The calendar has its own routes (web/api_calendar.py).

A field a person can fix is a 422 whose detail names it (`password: must be at least 8 characters`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request, Router, delete, get, patch, post
from sqlalchemy.orm import Session

from core.settings import get_settings
from inbox import accounts
from inbox.accounts import ValidationError
from inbox.models import Account, SendingNumber, User
from inbox.serializers import iso
from web.auth import CurrentUser, admin_only, scoped
from web.errors import unprocessable

T = TypeVar("T")


def _as_field(name: str, action: Callable[[], T]) -> T:
    """Run a domain write; its ValidationError becomes a 422 naming `name`."""
    try:
        return action()
    except ValidationError as exc:
        raise unprocessable(f"{name}: {exc}") from None


def _body(data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise unprocessable("body: must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise unprocessable(f"{unknown[0]}: unknown field (use {', '.join(sorted(allowed))})")
    return data


def _typed(data: dict[str, Any], name: str, kind: type, required: bool = False) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise unprocessable(f"{name}: required")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise unprocessable(f"{name}: must be {'text' if kind is str else kind.__name__}")
    return value


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "active": user.active,
            "created_at": iso(user.created_at)}


def number_json(number: SendingNumber) -> dict[str, Any]:
    return {"id": number.id, "phone": number.phone, "transactional": number.transactional,
            "marketing": number.marketing, "mps": number.mps, "messaging_service_sid": number.messaging_service_sid}


@get("/users", sync_to_thread=True)
def list_users(request: Request[CurrentUser, Any, Any], db: Session) -> list[dict[str, Any]]:
    """Every user of the account, deactivated ones too."""
    return [user_json(u) for u in accounts.account_users(db, request.user.account_id)]


@post("/users", sync_to_thread=True, status_code=201)
def add_user(request: Request[CurrentUser, Any, Any], db: Session, data: Any) -> dict[str, Any]:
    """Add a login `{email, password, name?, role?}` (role: csr or admin)."""
    body = _body(data, {"email", "password", "name", "role"})
    email = _typed(body, "email", str, required=True)
    password = _typed(body, "password", str, required=True)
    name, role = _typed(body, "name", str) or "", _typed(body, "role", str) or "csr"
    if role not in accounts.ROLES:
        raise unprocessable(f"role: must be one of {', '.join(accounts.ROLES)}")
    _as_field("email", lambda: accounts.normalize_email(email))
    _as_field("password", lambda: accounts.check_password(password))
    user = _as_field("email", lambda: accounts.create_user(db, request.user.account_id, email, password, role, name))
    db.commit()
    return user_json(user)


@patch("/users/{user_id:int}", sync_to_thread=True)
def change_user(request: Request[CurrentUser, Any, Any], db: Session, user_id: int, data: Any) -> dict[str, Any]:
    """Change `{name?, role?, active?}`; `active: false` ends their logins and API tokens."""
    user: User = scoped(db, User, user_id, request.user)
    body = _body(data, {"name", "role", "active"})
    name, role, active = _typed(body, "name", str), _typed(body, "role", str), _typed(body, "active", bool)
    # One field at a time, so an error names its own field; a later error rolls back the earlier ones.
    _as_field("name", lambda: accounts.update_user(db, user, name=name))
    _as_field("role", lambda: accounts.update_user(db, user, role=role))
    _as_field("active", lambda: accounts.update_user(db, user, active=active))
    db.commit()
    return user_json(user)


@post("/users/{user_id:int}/password", sync_to_thread=True, status_code=200)
def set_password(request: Request[CurrentUser, Any, Any], db: Session, user_id: int, data: Any) -> dict[str, Any]:
    """Reset a user's password `{password}` (at least 8 characters)."""
    user: User = scoped(db, User, user_id, request.user)
    password = _typed(_body(data, {"password"}), "password", str, required=True)
    _as_field("password", lambda: accounts.reset_password(db, user, password))
    db.commit()
    return user_json(user)


@get("/numbers", sync_to_thread=True)
def list_numbers(request: Request[CurrentUser, Any, Any], db: Session) -> list[dict[str, Any]]:
    """The account's sending numbers and what each is registered for."""
    return [number_json(n) for n in accounts.account_numbers(db, request.user.account_id)]


@post("/numbers", sync_to_thread=True, status_code=201)
def add_number(request: Request[CurrentUser, Any, Any], db: Session, data: Any) -> dict[str, Any]:
    """Register `{phone, transactional?, marketing?, mps?, messaging_service_sid?}`."""
    body = _body(data, {"phone", "transactional", "marketing", "mps", "messaging_service_sid"})
    phone = _typed(body, "phone", str, required=True)
    transactional, marketing = _typed(body, "transactional", bool), _typed(body, "marketing", bool)
    mps, sid = _typed(body, "mps", int) or 1, _typed(body, "messaging_service_sid", str) or None
    if not (transactional or marketing):
        transactional = True  # a number registered for nothing could never send
    field = "mps" if mps < 1 else "messaging_service_sid" if sid and not sid.startswith("MG") else "phone"
    number = _as_field(field, lambda: accounts.add_number(db, request.user.account_id, phone, bool(transactional),
                                                          bool(marketing), mps, sid))
    db.commit()
    return number_json(number)


@delete("/numbers/{number_id:int}", sync_to_thread=True, status_code=200)
def remove_number(request: Request[CurrentUser, Any, Any], db: Session, number_id: int) -> dict[str, Any]:
    """Stop sending from this number (texts already sent keep it)."""
    number: SendingNumber = scoped(db, SendingNumber, number_id, request.user)
    accounts.remove_number(db, number.phone, request.user.account_id)
    db.commit()
    return number_json(number)


def _secret_json(account: Account) -> dict[str, Any]:
    return {"account_id": account.id, "secret": account.webhook_secret,
            "url": get_settings().public_url.rstrip("/") + "/webhooks/scheduler"}


@get("/webhook-secret", sync_to_thread=True)
def webhook_secret(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, Any]:
    """`{account_id, secret, url}`: what a scheduler widget needs to sign its events."""
    return _secret_json(db.get_one(Account, request.user.account_id))


@post("/webhook-secret/rotate", sync_to_thread=True, status_code=200)
def rotate_webhook_secret(request: Request[CurrentUser, Any, Any], db: Session) -> dict[str, Any]:
    """A new secret; events signed with the old one are refused from now on."""
    account = db.get_one(Account, request.user.account_id)
    accounts.rotate_webhook_secret(db, account)
    db.commit()
    return _secret_json(account)


setup_api = Router(path="/api/v1/setup", guards=[admin_only], route_handlers=[
    list_users, add_user, change_user, set_password, list_numbers, add_number, remove_number, webhook_secret,
    rotate_webhook_secret])
