"""Logging in and out, the failed-login limit, session cookies and CSRF."""

from __future__ import annotations

from tests.factories import PASSWORD, make_tenant
from tests.web.helpers import login, make_thread


def test_login_form_is_served_without_a_session(client) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="email"' in response.text and 'name="password"' in response.text


def test_login_with_right_password_opens_a_session_and_redirects_to_next(client, session) -> None:
    tenant = make_tenant(session)
    form = {"email": tenant.csr.email, "password": PASSWORD, "next": "/inbox/7"}
    response = client.post("/login", data=form,
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox/7"
    cookie = response.headers["set-cookie"].lower()
    assert "textdesk_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/threads").status_code == 200


def test_login_never_redirects_to_another_site(client, session) -> None:
    tenant = make_tenant(session)
    response = client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD,
                                           "next": "//evil.example/phish"}, follow_redirects=False)
    assert response.headers["location"] == "/inbox"


def test_login_with_wrong_password_is_refused_without_a_session(client, session) -> None:
    tenant = make_tenant(session)
    response = client.post("/login", data={"email": tenant.csr.email, "password": "wrong password"})
    assert response.status_code == 401
    assert "do not match" in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert client.get("/api/v1/threads").status_code == 401


def test_sixth_failed_login_locks_the_email_even_with_the_right_password(client, session) -> None:
    tenant = make_tenant(session)
    for _ in range(5):
        wrong = {"email": tenant.csr.email, "password": "nope nope"}
        assert client.post("/login", data=wrong).status_code == 401
    right = {"email": tenant.csr.email, "password": PASSWORD}
    response = client.post("/login", data=right, follow_redirects=False)
    assert response.status_code == 429
    assert "Too many failed logins" in response.text
    # Another rep is not locked out by someone guessing a colleague's password.
    colleague = {"email": tenant.admin.email, "password": PASSWORD}
    other = client.post("/login", data=colleague, follow_redirects=False)
    assert other.status_code == 303


def test_successful_login_forgives_earlier_typos(client, session) -> None:
    tenant = make_tenant(session)
    for _ in range(4):
        client.post("/login", data={"email": tenant.csr.email, "password": "typo typo"})
    assert client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                       follow_redirects=False).status_code == 303
    for _ in range(4):
        client.post("/login", data={"email": tenant.csr.email, "password": "typo typo"})
    assert client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                       follow_redirects=False).status_code == 303


def test_missing_login_fields_are_a_400(client) -> None:
    assert client.post("/login", data={"email": ""}).status_code == 400


def test_logout_ends_the_session(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/threads").status_code == 401


def test_logout_without_csrf_token_is_refused(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    del client.headers["x-csrftoken"]
    assert client.post("/logout").status_code == 403
    assert client.get("/api/v1/threads").status_code == 200


def test_logout_form_carries_the_csrf_token(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    page = client.get("/inbox").text
    assert 'name="_csrf_token"' in page
    token = page.split('name="_csrf_token" value="')[1].split('"')[0]
    del client.headers["x-csrftoken"]
    response = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_browser_api_write_without_csrf_header_is_refused(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    del client.headers["x-csrftoken"]
    response = client.post(f"/api/v1/threads/{thread.id}/notes", json={"body": "call back at 5"})
    assert response.status_code == 403
    assert client.get(f"/api/v1/threads/{thread.id}/notes").json() == []


def test_bearer_token_writes_need_no_csrf(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    response = client.post(f"/api/v1/threads/{thread.id}/notes", json={"body": "from the CRM"},
                           headers=tenant.auth)
    assert response.status_code == 201


def test_inbox_without_login_redirects_a_browser_to_login(client) -> None:
    response = client.get("/inbox", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login")


def test_api_without_login_is_a_json_401(client) -> None:
    response = client.get("/api/v1/threads")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_root_sends_a_stranger_to_login_and_a_rep_to_the_inbox(client, session) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    assert client.get("/", follow_redirects=False).headers["location"] == "/inbox"
