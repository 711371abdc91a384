"""Business setup (admins): users, sending numbers, the scheduler webhook secret, and the page itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.accounts import create_token
from inbox.models import Account, SendingNumber, User
from tests.factories import PASSWORD, Tenant, make_tenant
from tests.followups.helpers import event, post_event
from tests.web.helpers import login


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session)


def test_an_admin_adds_renames_and_deactivates_a_user_who_then_cannot_log_in(client, tenant: Tenant) -> None:
    added = client.post("/api/v1/setup/users", json={"email": "Rita@Reyes.example", "name": "Rita", "role": "csr",
                                                     "password": "long enough pw"}, headers=tenant.auth)
    assert added.status_code == 201, added.text
    rita = added.json()
    assert rita["email"] == "rita@reyes.example" and rita["active"] is True
    renamed = client.patch(f"/api/v1/setup/users/{rita['id']}", json={"name": "Rita M."}, headers=tenant.auth)
    assert renamed.json()["name"] == "Rita M."
    assert client.patch(f"/api/v1/setup/users/{rita['id']}", json={"active": False},
                        headers=tenant.auth).json()["active"] is False
    users = {u["email"]: u for u in client.get("/api/v1/setup/users", headers=tenant.auth).json()}
    assert users["rita@reyes.example"]["active"] is False and users[tenant.csr.email]["active"] is True
    refused = client.post("/login", data={"email": "rita@reyes.example", "password": "long enough pw"},
                          follow_redirects=False)
    assert refused.status_code == 401
    # Gone from the assign menu too.
    assert "rita@reyes.example" not in {u["email"] for u in client.get("/api/v1/users", headers=tenant.auth).json()}


def test_a_deactivated_users_session_and_token_stop_working(client, session: Session, tenant: Tenant) -> None:
    token = create_token(session, tenant.csr.email)
    session.commit()
    login(client, tenant.csr.email)
    assert client.get("/api/v1/threads").status_code == 200
    assert client.get("/api/v1/threads", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.patch(f"/api/v1/setup/users/{tenant.csr.id}", json={"active": False},
                        headers=tenant.auth).status_code == 200
    assert client.get("/api/v1/threads").status_code == 401
    assert client.get("/api/v1/threads", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_reset_password_is_the_one_that_logs_in(client, tenant: Tenant) -> None:
    short = client.post(f"/api/v1/setup/users/{tenant.csr.id}/password", json={"password": "short"},
                        headers=tenant.auth)
    assert short.status_code == 422 and short.json()["detail"].startswith("password:")
    assert client.post(f"/api/v1/setup/users/{tenant.csr.id}/password", json={"password": "a brand new one"},
                       headers=tenant.auth).status_code == 200
    assert client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                       follow_redirects=False).status_code == 401
    assert client.post("/login", data={"email": tenant.csr.email, "password": "a brand new one"},
                       follow_redirects=False).status_code == 303


def test_the_last_admin_cannot_be_deactivated_or_demoted(client, tenant: Tenant) -> None:
    for body, field in (({"active": False}, "active"), ({"role": "csr"}, "role")):
        response = client.patch(f"/api/v1/setup/users/{tenant.admin.id}", json=body, headers=tenant.auth)
        assert response.status_code == 422 and response.json()["detail"].startswith(f"{field}: ")
        assert "last active admin" in response.json()["detail"]


def test_bad_user_requests_name_the_field(client, tenant: Tenant) -> None:
    for body, detail in (({"email": "nope", "password": "long enough pw"}, "email: "),
                         ({"email": "x@y.example", "password": "short"}, "password: "),
                         ({"email": tenant.csr.email, "password": "long enough pw"}, "email: a user with email"),
                         ({"email": "x@y.example"}, "password: required"),
                         ({"email": "x@y.example", "password": "long enough pw", "role": "owner"}, "role: must be one of"),
                         ({"email": "x@y.example", "password": "long enough pw", "boss": True}, "boss: unknown")):
        response = client.post("/api/v1/setup/users", json=body, headers=tenant.auth)
        assert response.status_code == 422 and response.json()["detail"].startswith(detail), response.text


def test_an_admin_lists_adds_and_removes_sending_numbers(client, session: Session, tenant: Tenant) -> None:
    added = client.post("/api/v1/setup/numbers", json={"phone": "(415) 555-0177", "marketing": True, "mps": 3},
                        headers=tenant.auth)
    assert added.status_code == 201, added.text
    assert added.json() | {"id": 0} == {"id": 0, "phone": "+14155550177", "transactional": False, "marketing": True,
                                         "mps": 3, "messaging_service_sid": None}
    listed = client.get("/api/v1/setup/numbers", headers=tenant.auth).json()
    assert [n["phone"] for n in listed] == [tenant.number.phone, "+14155550177"]
    bad = client.post("/api/v1/setup/numbers", json={"phone": "12"}, headers=tenant.auth)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("phone: ")
    assert client.delete(f"/api/v1/setup/numbers/{added.json()['id']}", headers=tenant.auth).status_code == 200
    assert session.scalars(select(SendingNumber.phone)).all() == [tenant.number.phone]


def test_rotating_the_webhook_secret_refuses_events_signed_with_the_old_one(client, session: Session,
                                                                            tenant: Tenant) -> None:
    shown = client.get("/api/v1/setup/webhook-secret", headers=tenant.auth).json()
    assert shown == {"account_id": tenant.account.id, "secret": tenant.account.webhook_secret,
                     "url": "http://testserver.local/webhooks/scheduler"}
    new = client.post("/api/v1/setup/webhook-secret/rotate", headers=tenant.auth).json()["secret"]
    assert new != shown["secret"] and len(new) == 64
    old_secret = shown["secret"]
    assert post_event(client, tenant, event(), secret=old_secret).status_code in (401, 403)
    session.expire_all()
    assert session.get_one(Account, tenant.account.id).webhook_secret == new
    assert post_event(client, tenant, event(), secret=new).status_code == 200


def test_setup_is_for_admins_only(client, session: Session, tenant: Tenant) -> None:
    other = make_tenant(session, name="Other Co", phone="+14155550111", slug="other")
    assert client.patch(f"/api/v1/setup/users/{other.csr.id}", json={"name": "x"},
                        headers=tenant.auth).status_code == 404
    login(client, tenant.csr.email)
    for method, path in (("GET", "/api/v1/setup/users"), ("GET", "/api/v1/setup/numbers"),
                         ("GET", "/api/v1/setup/webhook-secret"), ("POST", "/api/v1/setup/webhook-secret/rotate")):
        assert client.request(method, path).status_code == 403, path
    assert client.get("/setup", headers={"accept": "text/html"}).status_code == 403
    assert 'href="/setup"' not in client.get("/inbox").text


def test_the_setup_page_is_linked_for_admins(client, tenant: Tenant) -> None:
    login(client, tenant.admin.email)
    assert 'href="/setup"' in client.get("/inbox").text
    page = client.get("/setup")
    assert page.status_code == 200
    for part in ("Business hours", "Job types", "Closed days", "Users", "Sending numbers", "Booking widget",
                 "Calendar feed", "/static/setup.js"):
        assert part in page.text


def test_a_change_with_one_bad_field_changes_nothing(client, session: Session, tenant: Tenant) -> None:
    response = client.patch(f"/api/v1/setup/users/{tenant.csr.id}", json={"name": "New Name", "role": "owner"},
                            headers=tenant.auth)
    assert response.status_code == 422 and response.json()["detail"].startswith("role: ")
    session.expire_all()
    assert session.get_one(User, tenant.csr.id).name == "Carl Csr"
