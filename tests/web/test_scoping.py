"""A rep of one business never sees or changes another's threads, by id guessing or by websocket."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inbox.models import Event, Message, Note, Thread
from tests.factories import make_tenant
from tests.web.helpers import login, make_thread

# Every thread route, with a body that would succeed on the caller's own thread.
THREAD_ROUTES = [
    ("GET", "/api/v1/threads/{id}", None),
    ("GET", "/api/v1/threads/{id}/messages", None),
    ("POST", "/api/v1/threads/{id}/messages", {"body": "hello"}),
    ("GET", "/api/v1/threads/{id}/notes", None),
    ("POST", "/api/v1/threads/{id}/notes", {"body": "note"}),
    ("POST", "/api/v1/threads/{id}/assign", {"assignee_id": None}),
    ("POST", "/api/v1/threads/{id}/escalate", None),
    ("POST", "/api/v1/threads/{id}/de-escalate", None),
    ("POST", "/api/v1/threads/{id}/resolve", None),
    ("POST", "/api/v1/threads/{id}/reopen", None),
    ("POST", "/api/v1/threads/{id}/take-over", None),
    ("POST", "/api/v1/threads/{id}/hand-back", None),
    ("POST", "/api/v1/threads/{id}/read", None),
    ("GET", "/inbox/{id}", None),
]


@pytest.fixture
def two_tenants(session):  # type: ignore[no-untyped-def]
    mine = make_tenant(session)
    theirs = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    their_thread = make_thread(session, theirs, phone="+14155550177", name="Their Customer", owner="agent",
                               escalated=True)
    return mine, theirs, their_thread


@pytest.mark.parametrize(("method", "path", "body"), THREAD_ROUTES)
def test_another_accounts_thread_is_a_404_and_stays_unchanged(client, session, two_tenants, method, path,
                                                             body) -> None:
    mine, _, their_thread = two_tenants
    login(client, mine.csr.email)
    url = path.format(id=their_thread.id)
    response = client.request(method, url, json=body) if body is not None else client.request(method, url)
    assert response.status_code == 404, response.text
    assert "Their Customer" not in response.text
    session.expire_all()
    thread = session.get(Thread, their_thread.id)
    state = (thread.owner, thread.escalated, thread.assignee_id, thread.status)
    assert state == ("agent", True, None, "open")
    assert session.scalar(select(func.count()).select_from(Note)) == 0
    outbound = select(func.count()).select_from(Message).where(Message.direction == "outbound")
    assert session.scalar(outbound) == 0
    assert session.scalar(select(func.count()).select_from(Event)) == 0


@pytest.mark.parametrize(("method", "path", "body"), THREAD_ROUTES[:-1])
def test_an_api_token_is_scoped_like_a_session(client, session, two_tenants, method, path, body) -> None:
    mine, _, their_thread = two_tenants
    url = path.format(id=their_thread.id)
    response = client.request(method, url, json=body, headers=mine.auth)
    assert response.status_code == 404


def test_thread_list_and_search_show_only_the_callers_threads(client, session, two_tenants) -> None:
    mine, _, _ = two_tenants
    own = make_thread(session, mine)
    assert [r["id"] for r in client.get("/api/v1/threads", headers=mine.auth).json()] == [own.id]
    assert client.get("/api/v1/threads?q=Their", headers=mine.auth).json() == []
    assert client.get("/api/v1/threads?q=5550177", headers=mine.auth).json() == []


def test_event_catch_up_over_http_shows_only_the_callers_events(client, session, two_tenants) -> None:
    mine, theirs, their_thread = two_tenants
    own = make_thread(session, mine)
    client.post(f"/api/v1/threads/{their_thread.id}/resolve", headers=theirs.auth)
    client.post(f"/api/v1/threads/{own.id}/resolve", headers=mine.auth)
    events = client.get("/api/v1/events?after=0", headers=mine.auth).json()
    assert events and {e["thread_id"] for e in events} == {own.id}


def test_simulator_cannot_text_another_accounts_number(client, session, two_tenants) -> None:
    mine, theirs, _ = two_tenants
    login(client, mine.csr.email)
    response = client.post("/simulator/messages", json={"from": "+14155550123", "to": theirs.number.phone,
                                                        "body": "hi"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("to")
