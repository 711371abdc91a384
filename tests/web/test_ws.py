"""The /ws socket: session auth, account-only events, catch-up after a drop, presence and typing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect

from core.db import session_scope
from core.queue import get_redis
from inbox import events
from inbox.models import Thread
from tests.factories import make_tenant
from tests.web.helpers import login, make_thread


def _receive_until(ws: Any, predicate: Any, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        data = ws.receive_json(timeout=5)
        if predicate(data):
            return data
    raise AssertionError("expected message never arrived")


def _resume(ws: Any, after: int) -> list[dict[str, Any]]:
    ws.send_json({"type": "resume", "after": after})
    got = []
    while True:
        data = ws.receive_json(timeout=5)
        if data["type"] == "resumed":
            return got
        got.append(data)


def _hello(ws: Any) -> dict[str, Any]:
    data = ws.receive_json(timeout=5)
    assert data["type"] == "hello"
    return data


@contextmanager
def _caught_up_socket(client: Any, session: Any) -> Iterator[tuple[Any, Any, Thread]]:
    """A CSR's socket on a fresh account with one thread, subscribed and caught up."""
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        _resume(ws, 0)
        yield ws, tenant, thread


def test_socket_without_a_session_is_refused(client) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws") as ws:
        ws.receive_json(timeout=5)


def test_socket_from_another_origin_is_refused(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    with pytest.raises(WebSocketDisconnect), \
            client.websocket_connect("/ws", headers={"origin": "https://evil.example"}) as ws:
        ws.receive_json(timeout=5)


def test_same_origin_browser_socket_is_accepted(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    with client.websocket_connect("/ws", headers={"origin": "http://testserver.local"}) as ws:
        assert _hello(ws)["user_id"] == tenant.csr.id


def test_committed_action_reaches_the_socket_with_its_event_id(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        _resume(ws, 0)  # subscribed and caught up
        client.post(f"/api/v1/threads/{thread.id}/escalate")
        event = _receive_until(ws, lambda d: d.get("type") == "thread.updated")
    assert event["id"] > 0 and event["thread_id"] == thread.id and event["payload"]["escalated"] is True


def test_event_from_a_worker_process_publish_reaches_the_socket(client, session) -> None:
    with _caught_up_socket(client, session) as (ws, tenant, thread):
        # What an RQ job does: a plain sync session, emit, commit.
        with session_scope() as job_session:
            events.emit(job_session, tenant.account.id, events.THREAD_UPDATED, {"id": thread.id, "x": 1},
                        thread_id=thread.id)
        event = _receive_until(ws, lambda d: d.get("type") == "thread.updated")
    assert event["payload"] == {"id": thread.id, "x": 1}


def test_rolled_back_event_is_never_sent(client, session) -> None:
    with _caught_up_socket(client, session) as (ws, tenant, thread):
        events.emit(session, tenant.account.id, events.THREAD_UPDATED, {"rolled": "back"},
                    thread_id=thread.id)
        session.rollback()
        events.emit(session, tenant.account.id, events.NOTE_CREATED, {"kept": True}, thread_id=thread.id)
        session.commit()
        event = _receive_until(ws, lambda d: d.get("id") is not None)
    assert event["payload"] == {"kept": True}


def test_resume_replays_exactly_what_was_missed(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    client.post(f"/api/v1/threads/{thread.id}/escalate")
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        seen = _resume(ws, 0)
    last_seen = seen[-1]["id"]
    # Disconnected: two more actions happen.
    client.post(f"/api/v1/threads/{thread.id}/assign", json={"assignee_id": "me"})
    client.post(f"/api/v1/threads/{thread.id}/resolve")
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        missed = _resume(ws, last_seen)
    assert all(e["id"] > last_seen for e in missed)
    assert [e["type"] for e in missed] == ["note.created", "thread.updated", "note.created", "thread.updated"]
    assert missed[-1]["payload"]["status"] == "resolved"


def test_socket_never_receives_another_accounts_events(client, session, app) -> None:
    mine = make_tenant(session)
    theirs = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    their_thread = make_thread(session, theirs, phone="+14155550177")
    own = make_thread(session, mine)
    client.post(f"/api/v1/threads/{their_thread.id}/escalate", headers=theirs.auth)
    login(client, mine.csr.email)
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        assert _resume(ws, 0) == []  # their logged events are not replayed to me
        client.post(f"/api/v1/threads/{their_thread.id}/resolve", headers=theirs.auth)
        client.post(f"/api/v1/threads/{own.id}/resolve")
        event = _receive_until(ws, lambda d: d.get("id") is not None)
    assert event["thread_id"] == own.id


def test_typing_and_presence_reach_other_reps_of_the_account_only(client, session) -> None:
    mine = make_tenant(session)
    theirs = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    thread = make_thread(session, mine)
    with ExitStack() as stack:
        sockets = []
        for email in (mine.csr.email, mine.admin.email, theirs.csr.email):
            client.cookies.clear()  # a fresh browser: its own session
            login(client, email)
            ws = stack.enter_context(client.websocket_connect("/ws"))
            _hello(ws)
            _resume(ws, 0)
            sockets.append(ws)
        carl_ws, ana_ws, stranger_ws = sockets
        carl_ws.send_json({"type": "presence", "thread_id": thread.id})
        presence = _receive_until(ana_ws, lambda d: d.get("type") == "presence")
        carl_ws.send_json({"type": "typing", "thread_id": thread.id})
        typing = _receive_until(ana_ws, lambda d: d.get("type") == "typing")
        carl_ws.send_json({"type": "typing", "thread_id": thread.id, "active": False})  # sent: draft gone
        stopped = _receive_until(ana_ws, lambda d: d.get("type") == "typing")
        stranger_ws.send_json({"type": "ping"})
        # The stranger's next frame is the answer to its own ping: nothing of ours came before it.
        assert stranger_ws.receive_json(timeout=5) == {"type": "pong"}
    assert presence["payload"] == {"user_id": mine.csr.id, "name": "Carl Csr", "thread_id": thread.id,
                                   "hello": False}
    assert presence["id"] is None  # ephemeral: never logged, never replayed
    assert typing["payload"]["user_id"] == mine.csr.id and typing["payload"]["thread_id"] == thread.id
    assert (typing["payload"]["active"], stopped["payload"]["active"]) == (True, False)


def test_typing_cannot_be_attributed_to_someone_else(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        _resume(ws, 0)
        ws.send_json({"type": "typing", "thread_id": thread.id, "user_id": tenant.admin.id, "name": "Ana"})
        typing = _receive_until(ws, lambda d: d.get("type") == "typing")
    assert (typing["payload"]["user_id"], typing["payload"]["name"]) == (tenant.csr.id, "Carl Csr")


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", json.dumps({"type": "shout"}),
                                 json.dumps({"type": "resume", "after": "x"}),
                                 json.dumps({"type": "resume", "after": 2**70})])
def test_bad_client_messages_get_an_error_and_keep_the_socket(client, session, raw) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    with client.websocket_connect("/ws") as ws:
        _hello(ws)
        ws.send_text(raw)
        assert ws.receive_json(timeout=5)["type"] == "error"
        ws.send_json({"type": "ping"})
        assert ws.receive_json(timeout=5) == {"type": "pong"}


def test_thread_row_check_uses_committed_state(session) -> None:
    # Guards the helper: make_thread commits, so the app (another session) sees the thread.
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    with session_scope() as other:
        assert other.get(Thread, thread.id) is not None


def test_events_committed_together_reach_the_socket_one_frame_each_in_order(client, session) -> None:
    with _caught_up_socket(client, session) as (ws, tenant, thread):
        for n in range(30):
            events.emit(session, tenant.account.id, events.NOTE_CREATED, {"n": n}, thread_id=thread.id)
        session.commit()
        got = [_receive_until(ws, lambda d: d.get("type") == events.NOTE_CREATED)["payload"]["n"] for _ in range(30)]
    assert got == list(range(30))


def test_a_message_of_several_lines_from_redis_is_sent_as_one_frame_per_event(client, session) -> None:
    with _caught_up_socket(client, session) as (ws, tenant, _thread):
        lines = [json.dumps({"id": n, "type": events.NOTE_CREATED, "thread_id": None, "payload": {"n": n}})
                 for n in (1, 2)]
        get_redis().publish(events.channel_for(tenant.account.id), "\n".join(lines))
        assert ws.receive_json(timeout=5)["payload"] == {"n": 1}
        assert ws.receive_json(timeout=5)["payload"] == {"n": 2}
