"""Test data for the inbox: contacts and threads written the way the inbound pipeline leaves them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from core.db import utcnow
from inbox.models import Contact, Message, Thread
from tests.factories import PASSWORD, Tenant


def make_thread(session: Session, tenant: Tenant, phone: str = "+14155550134",
                name: str | None = "Dana Reyes", body: str = "Is anyone free tomorrow?", minutes_ago: int = 0,
                **thread_fields: object) -> Thread:
    """A contact, their thread and one inbound text; committed."""
    contact = Contact(account_id=tenant.account.id, phone=phone, name=name,
                      opted_out=bool(thread_fields.get("opted_out", False)))
    session.add(contact)
    session.flush()
    when = utcnow() - timedelta(minutes=minutes_ago)
    thread = Thread(account_id=tenant.account.id, contact_id=contact.id, last_message_at=when, unread_count=1,
                    **thread_fields)
    session.add(thread)
    session.flush()
    session.add(Message(account_id=tenant.account.id, thread_id=thread.id, contact_id=contact.id,
                        direction="inbound", sender="customer", body=body, status="received",
                        from_number=phone, to_number=tenant.number.phone, created_at=when))
    session.commit()
    return thread


def login(client, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Log the test client in through the form, and arm it with the CSRF header for API writes."""
    response = client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    client.get("/inbox")  # sets the csrftoken cookie
    client.headers["x-csrftoken"] = client.cookies.get("csrftoken")
