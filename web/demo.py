"""The demo account that `textdesk demo` (and `./run`) seeds: created once, its login printed each start.

The admin's password is generated on the first start and kept in `instance_settings`, so a restart
prints the same login instead of resetting it under a browser that is already logged in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.accounts import add_number, create_account, create_user
from inbox.models import Account, InstanceSetting, User

ACCOUNT_NAME = "Reyes Plumbing & Heating (demo)"
EMAIL = "admin@demo.textdesk.local"
NUMBER = "+14155550100"
PASSWORD_KEY = "demo_admin_password"
SCHEDULER_URL = "https://book.example.com/new?name={{ name }}&phone={{ phone }}&zip={{ zip }}&job={{ job_type }}"


@dataclass(frozen=True)
class DemoLogin:
    account: Account
    email: str
    password: str | None  # None: someone changed it since, and textdesk no longer knows it


def _password_matches(user: User, password: str) -> bool:
    try:
        return PasswordHasher().verify(user.password_hash, password)
    except VerificationError:
        return False


def seed(session: Session) -> DemoLogin:
    """The demo account, number and admin, created if missing; the admin's stored password."""
    account = session.scalar(select(Account).where(Account.name == ACCOUNT_NAME))
    if account is None:
        account = create_account(session, ACCOUNT_NAME, "America/Los_Angeles", SCHEDULER_URL)
        account.contact_phone = NUMBER
        add_number(session, account.id, NUMBER, transactional=True, marketing=True, mps=1)
    stored = session.get(InstanceSetting, PASSWORD_KEY)
    user = session.scalar(select(User).where(User.email == EMAIL))
    if stored is None:
        stored = InstanceSetting(key=PASSWORD_KEY, value=secrets.token_urlsafe(9))
        session.add(stored)
        if user is None:
            create_user(session, account.id, EMAIL, stored.value, "admin", name="Demo Admin")
        else:  # a demo seeded before the password was kept: set it this one time
            user.password_hash = PasswordHasher().hash(stored.value)
    elif user is None:
        create_user(session, account.id, EMAIL, stored.value, "admin", name="Demo Admin")
    elif not _password_matches(user, stored.value):
        return DemoLogin(account, EMAIL, None)
    session.flush()
    return DemoLogin(account, EMAIL, stored.value)
