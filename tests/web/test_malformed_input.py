"""Malformed input to the JSON API and the pages is a 4xx naming what is wrong, never a 500."""

from __future__ import annotations

import pytest

from tests.factories import make_tenant
from tests.web.helpers import make_thread


@pytest.mark.parametrize("path", [
    "/api/v1/threads/2147483648", "/api/v1/threads/9223372036854775808/messages",
    "/api/v1/threads/99999999999999999999999/notes", "/api/v1/contacts/2147483648/sendability",
])
def test_an_id_wider_than_its_column_is_404(client, session, path) -> None:
    tenant = make_tenant(session)
    response = client.get(path, headers=tenant.auth)
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


def test_writes_to_an_out_of_range_id_are_404(client, session) -> None:
    tenant = make_tenant(session)
    for action in ("notes", "messages", "resolve"):
        response = client.post(f"/api/v1/threads/2147483648/{action}", json={"body": "hi"}, headers=tenant.auth)
        assert response.status_code == 404
    assert client.post("/api/v1/followups/2147483648/cancel", headers=tenant.auth).status_code == 404


def test_an_out_of_range_assignee_filter_is_404_naming_it(client, session) -> None:
    tenant = make_tenant(session)
    response = client.get("/api/v1/threads?assignee=99999999999", headers=tenant.auth)
    assert response.status_code == 404 and response.json()["detail"].startswith("assignee:")
    assert client.get("/api/v1/threads?assignee=%C2%B2", headers=tenant.auth).status_code == 400


def test_assigning_to_an_out_of_range_user_is_404(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    response = client.post(f"/api/v1/threads/{thread.id}/assign", json={"assignee_id": 2**40}, headers=tenant.auth)
    assert response.status_code == 404 and response.json()["detail"].startswith("assignee_id:")


@pytest.mark.parametrize("q", ["%00", "dana%00", "%ED%A0%80"])
def test_a_search_with_unstorable_text_is_refused_or_finds_nothing(client, session, q) -> None:
    tenant = make_tenant(session)
    make_thread(session, tenant)
    response = client.get(f"/api/v1/threads?q={q}", headers=tenant.auth)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json()["detail"].startswith("q:")


def test_a_nul_in_a_note_or_reply_is_400_naming_the_field(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    for path in ("notes", "messages"):
        response = client.post(f"/api/v1/threads/{thread.id}/{path}", json={"body": "call\u0000back"},
                               headers=tenant.auth)
        assert response.status_code == 400 and response.json()["detail"].startswith("body:")
    lone = b'{"body": "call \\ud800 back"}'
    response = client.post(f"/api/v1/threads/{thread.id}/notes", content=lone,
                           headers={**tenant.auth, "content-type": "application/json"})
    assert response.status_code == 400 and "surrogate" in response.json()["detail"]


def test_an_event_cursor_past_any_id_is_an_empty_list(client, session) -> None:
    tenant = make_tenant(session)
    assert client.get(f"/api/v1/events?after={2**70}", headers=tenant.auth).json() == []


def test_a_page_for_an_out_of_range_thread_is_404(client, session) -> None:
    from tests.web.helpers import login

    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    assert client.get("/inbox/2147483648").status_code == 404
