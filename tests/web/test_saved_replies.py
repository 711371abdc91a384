"""Saved replies: every rep reads them, admins write them; names and variables are checked."""

from __future__ import annotations

import pytest

from tests.factories import make_tenant
from tests.web.helpers import login


def test_admin_creates_edits_and_deletes_and_a_csr_reads(client, session) -> None:
    tenant = make_tenant(session)
    created = client.post("/api/v1/saved-replies", headers=tenant.auth, json={
        "name": "eta", "body": "Hi {{ first_name }}, {{business_name}} is on the way for {{ booking_time }}."})
    assert created.status_code == 201, created.text
    reply = created.json()
    edited = client.put(f"/api/v1/saved-replies/{reply['id']}", headers=tenant.auth, json={"name": "on-the-way"})
    assert edited.json()["name"] == "on-the-way"

    login(client, tenant.csr.email)
    assert [r["name"] for r in client.get("/api/v1/saved-replies").json()] == ["on-the-way"]
    denied = client.post("/api/v1/saved-replies", json={"name": "x", "body": "y"})
    assert denied.status_code == 403
    assert client.delete(f"/api/v1/saved-replies/{reply['id']}").status_code == 403

    assert client.delete(f"/api/v1/saved-replies/{reply['id']}", headers=tenant.auth).status_code == 204
    assert client.get("/api/v1/saved-replies", headers=tenant.auth).json() == []


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"name": "Has Space", "body": "x"}, 400, "name: 1 to 40 lowercase"),
    ({"name": "ok", "body": ""}, 400, "body: required"),
    ({"name": "ok", "body": "Hi {{ last_name }}"}, 400, "unknown variable {{ last_name }}"),
    ({"name": "ok", "body": "{% for x in y %}"}, 400, "only {{ variables }}"),
    ({"name": "taken", "body": "again"}, 409, "already exists"),
])
def test_bad_saved_replies_say_why(client, session, body, status, detail) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    client.post("/api/v1/saved-replies", headers=tenant.auth, json={"name": "taken", "body": "first"})
    response = client.post("/api/v1/saved-replies", headers=tenant.auth, json=body)
    assert response.status_code == status and detail in response.json()["detail"]


def test_another_accounts_saved_reply_is_not_found(client, session) -> None:
    tenant = make_tenant(session)
    other = make_tenant(session, name="Other", phone="+14155550199", slug="other")
    reply = client.post("/api/v1/saved-replies", headers=other.auth, json={"name": "hi", "body": "hello"}).json()
    assert client.put(f"/api/v1/saved-replies/{reply['id']}", headers=tenant.auth,
                      json={"body": "mine now"}).status_code == 404
