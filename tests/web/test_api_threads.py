"""The inbox API: listing and filtering threads, messages through the send gate, notes, actions."""

from __future__ import annotations

from sqlalchemy import func, select

from inbox.models import Event, Message, Note, Thread
from tests.factories import make_tenant
from tests.web.helpers import login, make_thread

OUTBOUND_COUNT = select(func.count()).select_from(Message).where(Message.direction == "outbound")


def _events(session, type_: str | None = None) -> list[Event]:  # type: ignore[no-untyped-def]
    session.expire_all()
    stmt = select(Event).order_by(Event.id)
    if type_:
        stmt = stmt.where(Event.type == type_)
    return list(session.scalars(stmt))


def test_thread_list_is_newest_activity_first_with_the_contract_fields(client, session) -> None:
    tenant = make_tenant(session)
    old = make_thread(session, tenant, phone="+14155550111", name="Old Olga", minutes_ago=30)
    new = make_thread(session, tenant, phone="+14155550122", name="New Nate", minutes_ago=1)
    rows = client.get("/api/v1/threads", headers=tenant.auth).json()
    assert [r["id"] for r in rows] == [new.id, old.id]
    assert set(rows[0]) >= {"id", "contact", "status", "owner", "assignee_id", "escalated", "opted_out",
                            "last_message_at"}
    assert rows[0]["contact"] == {"id": new.contact_id, "phone": "+14155550122", "name": "New Nate",
                                  "display_phone": "(415) 555-0122"}


def test_thread_list_filters_by_status_owner_assignee_flags_and_search(client, session) -> None:
    tenant = make_tenant(session)
    agent = make_thread(session, tenant, phone="+14155550101", name="Agnes", owner="agent")
    resolved = make_thread(session, tenant, phone="+14155550102", name="Rita", status="resolved")
    mine = make_thread(session, tenant, phone="+14155550103", name="Mona", assignee_id=tenant.admin.id,
                       owner="csr")
    escalated = make_thread(session, tenant, phone="+14155550104", name="Esme", escalated=True)
    stopped = make_thread(session, tenant, phone="+14155550105", name="Stan", opted_out=True)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/threads?{query}", headers=tenant.auth)
        assert response.status_code == 200, response.text
        return {r["id"] for r in response.json()}

    assert ids("owner=agent") == {agent.id}
    assert ids("status=resolved") == {resolved.id}
    assert ids("assignee=me") == {mine.id}
    assert mine.id not in ids("assignee=none")
    assert ids(f"assignee={tenant.admin.id}") == {mine.id}
    assert ids("escalated=true") == {escalated.id}
    assert ids("opted_out=true") == {stopped.id}
    assert ids("q=mon") == {mine.id}
    assert ids("q=(415) 555-0104") == {escalated.id}


def test_thread_list_rejects_an_unknown_status_naming_the_field(client, session) -> None:
    tenant = make_tenant(session)
    response = client.get("/api/v1/threads?status=sleeping", headers=tenant.auth)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("status")


def test_thread_detail_carries_the_contact_panel(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    detail = client.get(f"/api/v1/threads/{thread.id}", headers=tenant.auth).json()
    assert detail["contact"]["display_phone"] == "(415) 555-0134"
    assert detail["contact"]["timezone"] == "America/Los_Angeles"
    panel = {"consent", "sessions", "followups", "bookings", "local_time", "line_type"}
    assert panel <= set(detail["contact"])
    assert detail["sendability"]["allowed"] is True


def test_messages_list_in_order_with_the_contract_fields(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant, body="hello there")
    rows = client.get(f"/api/v1/threads/{thread.id}/messages", headers=tenant.auth).json()
    assert [m["body"] for m in rows] == ["hello there"]
    assert set(rows[0]) >= {"id", "direction", "sender", "body", "status", "error_code", "decision",
                            "block_reason", "created_at"}


def test_rep_reply_goes_through_the_send_gate_and_is_announced(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    response = client.post(f"/api/v1/threads/{thread.id}/messages", json={"body": "Yes, 9am works"})
    assert response.status_code == 201, response.text
    body = response.json()
    got = (body["direction"], body["sender"], body["decision"], body["status"])
    assert got == ("outbound", "csr", "send", "queued")
    assert body["sender_user_id"] == tenant.csr.id
    assert [e.payload["id"] for e in _events(session, "message.created")] == [body["id"]]


def test_reply_to_an_opted_out_contact_is_stored_blocked_with_the_reason(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant, opted_out=True)
    response = client.post(f"/api/v1/threads/{thread.id}/messages", json={"body": "Are you there?"},
                           headers=tenant.auth)
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["block_reason"]) == ("blocked", "opted_out")


def test_empty_or_missing_reply_body_is_a_400_naming_body(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    for payload in ({"body": "   "}, {}, {"body": 5}):
        response = client.post(f"/api/v1/threads/{thread.id}/messages", json=payload, headers=tenant.auth)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("body")
    assert session.scalar(OUTBOUND_COUNT) == 0


def test_note_is_stored_announced_and_never_sent(client, session, worker) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    response = client.post(f"/api/v1/threads/{thread.id}/notes", json={"body": "Customer prefers mornings"})
    assert response.status_code == 201
    assert response.json()["author_name"] == "Carl Csr"
    worker()
    assert session.scalar(OUTBOUND_COUNT) == 0
    [event] = _events(session, "note.created")
    assert event.payload["body"] == "Customer prefers mornings"
    listed = client.get(f"/api/v1/threads/{thread.id}/notes").json()
    assert [n["body"] for n in listed] == ["Customer prefers mornings"]


def test_assign_to_another_rep_and_to_me_and_unassign(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    login(client, tenant.csr.email)
    url = f"/api/v1/threads/{thread.id}/assign"
    assert client.post(url, json={"assignee_id": tenant.admin.id}).json()["assignee_id"] == tenant.admin.id
    assert client.post(url, json={"assignee_id": "me"}).json()["assignee_id"] == tenant.csr.id
    assert client.post(url, json={"assignee_id": None}).json()["assignee_id"] is None
    updates = [e.payload["assignee_id"] for e in _events(session, "thread.updated")]
    assert updates == [tenant.admin.id, tenant.csr.id, None]


def test_assign_to_a_user_of_another_account_is_refused(client, session) -> None:
    tenant = make_tenant(session)
    other = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    thread = make_thread(session, tenant)
    response = client.post(f"/api/v1/threads/{thread.id}/assign", json={"assignee_id": other.csr.id},
                           headers=tenant.auth)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("assignee_id")
    session.expire_all()
    assert session.get(Thread, thread.id).assignee_id is None


def test_escalate_then_de_escalate(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    url = f"/api/v1/threads/{thread.id}"
    assert client.post(f"{url}/escalate", headers=tenant.auth).json()["escalated"] is True
    assert client.post(f"{url}/de-escalate", headers=tenant.auth).json()["escalated"] is False


def test_resolve_then_reopen(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    resolved = client.post(f"/api/v1/threads/{thread.id}/resolve", headers=tenant.auth).json()
    assert (resolved["status"], resolved["unread_count"]) == ("resolved", 0)
    assert client.post(f"/api/v1/threads/{thread.id}/reopen", headers=tenant.auth).json()["status"] == "open"


def test_take_over_from_the_agent_makes_the_rep_owner_and_assignee(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant, owner="agent")
    login(client, tenant.csr.email)
    body = client.post(f"/api/v1/threads/{thread.id}/take-over").json()
    assert (body["owner"], body["assignee_id"]) == ("csr", tenant.csr.id)
    notes = session.scalars(select(Note).where(Note.thread_id == thread.id)).all()
    assert [n.body for n in notes] == ["Carl Csr took over from the AI agent"]
    assert [e.type for e in _events(session)] == ["note.created", "thread.updated"]


def test_hand_back_is_refused_while_the_agent_is_off(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant, owner="csr")
    response = client.post(f"/api/v1/threads/{thread.id}/hand-back", headers=tenant.auth)
    assert response.status_code == 400
    assert "agent is off" in response.json()["detail"]
    session.expire_all()
    assert session.get(Thread, thread.id).owner == "csr"


def test_hand_back_gives_the_thread_to_the_agent_when_it_is_on(client, session, monkeypatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    get_settings.cache_clear()
    tenant = make_tenant(session)
    thread = make_thread(session, tenant, owner="csr", escalated=True)
    body = client.post(f"/api/v1/threads/{thread.id}/hand-back", headers=tenant.auth).json()
    assert (body["owner"], body["escalated"]) == ("agent", False)


def test_mark_read_clears_the_unread_count(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    assert client.post(f"/api/v1/threads/{thread.id}/read", headers=tenant.auth).json()["unread_count"] == 0


def test_unknown_thread_action_is_a_404(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    assert client.post(f"/api/v1/threads/{thread.id}/teleport", headers=tenant.auth).status_code == 404


def test_repeating_an_action_changes_nothing_and_emits_nothing(client, session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant)
    client.post(f"/api/v1/threads/{thread.id}/escalate", headers=tenant.auth)
    before = len(_events(session))
    client.post(f"/api/v1/threads/{thread.id}/escalate", headers=tenant.auth)
    assert len(_events(session)) == before


def test_users_lists_only_the_callers_account(client, session) -> None:
    tenant = make_tenant(session)
    make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    emails = {u["email"] for u in client.get("/api/v1/users", headers=tenant.auth).json()}
    assert emails == {tenant.admin.email, tenant.csr.email}
