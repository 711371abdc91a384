"""Logging in gives the browser a new session id, so an id planted before login is worthless."""

from __future__ import annotations

from tests.factories import PASSWORD, make_tenant

COOKIE = "textdesk_session"


def test_login_issues_a_fresh_session_id_and_the_planted_one_stays_logged_out(client, session) -> None:
    tenant = make_tenant(session)
    planted = "a" * 64
    client.cookies.set(COOKIE, planted)
    response = client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 303
    issued = [c.split(";")[0].split("=", 1)[1] for c in response.headers.get_list("set-cookie")
              if c.startswith(f"{COOKIE}=")]
    assert len(issued) == 1 and issued[0] not in (planted, "null")

    client.cookies.clear()
    client.cookies.set(COOKIE, issued[0])
    assert client.get("/api/v1/users").status_code == 200  # the new id is logged in
    client.cookies.clear()
    client.cookies.set(COOKIE, planted)
    assert client.get("/api/v1/users").status_code == 401  # the planted id is not
