"""Builders for test data, through the same domain functions the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from inbox.accounts import add_number, create_account, create_token, create_user
from inbox.models import Account, SendingNumber, User

PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    account: Account
    number: SendingNumber
    admin: User
    csr: User
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_tenant(session: Session, name: str = "Reyes Plumbing", phone: str = "+14155550100",
                timezone: str = "America/Los_Angeles", slug: str = "reyes") -> Tenant:
    """An account with one transactional+marketing number, an admin, a CSR and the admin's API token."""
    account = create_account(session, name, timezone, "https://book.example.com/new?name={name}&phone={phone}")
    account.contact_phone = phone
    number = add_number(session, account.id, phone, transactional=True, marketing=True, mps=10)
    admin = create_user(session, account.id, f"admin@{slug}.example", PASSWORD, "admin", name="Ana Admin")
    csr = create_user(session, account.id, f"csr@{slug}.example", PASSWORD, "csr", name="Carl Csr")
    token = create_token(session, admin.email)
    session.commit()
    return Tenant(account, number, admin, csr, token)
