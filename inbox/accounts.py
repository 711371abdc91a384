"""Accounts, sending numbers, users and API tokens: creation, validation, authentication."""

from __future__ import annotations

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from inbox.models import Account, ApiToken, InstanceSetting, SendingNumber, User
from inbox.phones import InvalidPhone, to_e164

_hasher = PasswordHasher()
ROLES = ("csr", "admin")
FOLLOWUP_MODES = ("link", "agent")


class ValidationError(ValueError):
    """Input a person can fix; the message says what to fix."""


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r} (use an IANA name such as America/Los_Angeles)") from None
    return name


def create_account(session: Session, name: str, timezone: str, scheduler_url: str | None = None,
                   followup_mode: str = "link") -> Account:
    if not name.strip():
        raise ValidationError("account name is empty")
    if followup_mode not in FOLLOWUP_MODES:
        raise ValidationError(f"follow-up mode must be one of {', '.join(FOLLOWUP_MODES)}")
    if scheduler_url and not scheduler_url.startswith(("http://", "https://")):
        raise ValidationError("scheduler URL must start with http:// or https://")
    account = Account(name=name.strip(), timezone=validate_timezone(timezone), scheduler_url_template=scheduler_url,
                      followup_mode=followup_mode, webhook_secret=secrets.token_hex(32))
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, account_id: int | str) -> Account:
    try:
        account = session.get(Account, int(account_id))
    except (TypeError, ValueError):
        account = None
    if account is None:
        raise ValidationError(f"no account with id {account_id}")
    return account


def add_number(session: Session, account_id: int | str, phone: str, transactional: bool = False,
               marketing: bool = False, mps: int = 1, messaging_service_sid: str | None = None) -> SendingNumber:
    account = get_account(session, account_id)
    try:
        e164 = to_e164(phone)
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from None
    if mps < 1:
        raise ValidationError("messages per second must be at least 1")
    if messaging_service_sid and not messaging_service_sid.startswith("MG"):
        raise ValidationError("a Messaging Service SID starts with MG")
    if session.scalar(select(SendingNumber).where(SendingNumber.phone == e164)):
        raise ValidationError(f"{e164} is already registered")
    number = SendingNumber(account_id=account.id, phone=e164, transactional=transactional, marketing=marketing,
                           mps=mps, messaging_service_sid=messaging_service_sid)
    if messaging_service_sid and not account.messaging_service_sid:
        account.messaging_service_sid = messaging_service_sid
    session.add(number)
    session.flush()
    return number


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise ValidationError(f"{email!r} is not an email address")
    return email


def create_user(session: Session, account_id: int | str, email: str, password: str, role: str = "csr",
                name: str = "") -> User:
    account = get_account(session, account_id)
    email = normalize_email(email)
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    check_password(password)
    if session.scalar(select(User).where(User.email == email)):
        raise ValidationError(f"a user with email {email} already exists")
    user = User(account_id=account.id, email=email, name=name or email.split("@")[0],
                password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        _hasher.hash(password)  # same cost whether or not the email exists (or may log in)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, email: str) -> str:
    """A new API token for the user; only its hash is stored, so it is shown once."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise ValidationError(f"no user with email {email}")
    token = "td_" + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=user.account_id, user_id=user.id, token_hash=_token_digest(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None  # a deactivated user's tokens stop working with their login
    row.last_used_at = utcnow()
    return user


def active_user(session: Session, user_id: int) -> User | None:
    """The user behind a login session, or None once they are deactivated (or deleted)."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise ValidationError(f"no user with email {email.strip()}")
    return user


def check_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationError("password must be at least 8 characters")
    return password


def _keeps_an_admin(session: Session, user: User) -> None:
    # An account whose last admin is gone could never change its own setup again.
    others = session.scalar(select(User.id).where(User.account_id == user.account_id, User.id != user.id,
                                                  User.role == "admin", User.active.is_(True)).limit(1))
    if others is None:
        raise ValidationError(f"{user.email} is the account's last active admin; make another admin first")


def update_user(session: Session, user: User, *, name: str | None = None, role: str | None = None,
                active: bool | None = None) -> User:
    """Change a user's display name, role or whether they may log in (deactivating ends their tokens)."""
    if name is not None:
        if not name.strip() or len(name.strip()) > 200:
            raise ValidationError("name must be 1 to 200 characters")
        user.name = name.strip()
    if role is not None and role != user.role:
        if role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}")
        if user.role == "admin":
            _keeps_an_admin(session, user)
        user.role = role
    if active is not None and active != user.active:
        if not active and user.role == "admin":
            _keeps_an_admin(session, user)
        user.active = active
    session.flush()
    return user


def reset_password(session: Session, user: User, password: str) -> User:
    user.password_hash = _hasher.hash(check_password(password))
    session.flush()
    return user


def account_users(session: Session, account_id: int) -> list[User]:
    """Every user of the account, active or not, by name."""
    return list(session.scalars(select(User).where(User.account_id == account_id).order_by(User.name, User.id)))


def account_numbers(session: Session, account_id: int) -> list[SendingNumber]:
    return list(session.scalars(select(SendingNumber).where(SendingNumber.account_id == account_id)
                                .order_by(SendingNumber.id)))


def remove_number(session: Session, phone: str, account_id: int | None = None) -> SendingNumber:
    """Stop sending from a number (texts already sent keep it); `account_id` limits it to one account."""
    try:
        e164 = to_e164(phone)
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from None
    query = select(SendingNumber).where(SendingNumber.phone == e164)
    if account_id is not None:
        query = query.where(SendingNumber.account_id == account_id)
    number = session.scalar(query)
    if number is None:
        raise ValidationError(f"{e164} is not a sending number" + (" of this account" if account_id else ""))
    session.delete(number)
    session.flush()
    return number


def rotate_webhook_secret(session: Session, account: Account) -> str:
    """A new scheduler webhook secret; events signed with the old one are refused from now on."""
    account.webhook_secret = secrets.token_hex(32)
    session.flush()
    return account.webhook_secret


def instance_secret(session: Session, configured: str | None = None) -> str:
    """TEXTDESK_SECRET_KEY, or the key generated on first start and shared by every process."""
    if configured:
        return configured
    row = session.get(InstanceSetting, "secret_key")
    if row is None:
        row = InstanceSetting(key="secret_key", value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value
