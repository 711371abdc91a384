"""The follow-ups API: listing, a CSR's cancel, settings (admins only for writes) and lint."""

from __future__ import annotations

from sqlalchemy import select

from followups.models import Followup, FollowupVariant
from inbox.accounts import create_token
from inbox.models import Account
from tests.factories import make_tenant
from tests.followups.helpers import event, post_event


def _csr_auth(session, tenant) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = create_token(session, tenant.csr.email)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_list_followups_filters_by_status_with_the_contract_fields(client, session) -> None:
    tenant = make_tenant(session)
    post_event(client, tenant, event(id="e1", session_id="s1"))
    post_event(client, tenant, event(id="e2", session_id="s2", phone="+14155550135"))
    post_event(client, tenant, event("session.completed", id="e3", session_id="s2", phone="+14155550135"))
    everything = client.get("/api/v1/followups", headers=tenant.auth).json()
    assert len(everything) == 2
    assert {"id", "session_id", "contact_id", "due_at", "status", "variant", "mode", "block_reason",
            "sent_message_id"} <= set(everything[0])
    cancelled = client.get("/api/v1/followups?status=cancelled", headers=tenant.auth).json()
    assert [f["status"] for f in cancelled] == ["cancelled"]
    bad = client.get("/api/v1/followups?status=nope", headers=tenant.auth)
    assert bad.status_code == 400 and "status" in bad.json()["detail"]


def test_csr_cancels_a_scheduled_followup_once(client, session) -> None:
    tenant = make_tenant(session)
    post_event(client, tenant, event())
    followup = session.scalars(select(Followup)).one()
    auth = _csr_auth(session, tenant)
    response = client.post(f"/api/v1/followups/{followup.id}/cancel", headers=auth)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    session.expire_all()
    assert session.get(Followup, followup.id).cancelled_by == "csr"
    again = client.post(f"/api/v1/followups/{followup.id}/cancel", headers=auth)
    assert again.status_code == 409


def test_another_accounts_followup_is_404(client, session) -> None:
    ours = make_tenant(session)
    theirs = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    post_event(client, theirs, event())
    followup = session.scalars(select(Followup)).one()
    assert client.post(f"/api/v1/followups/{followup.id}/cancel", headers=ours.auth).status_code == 404
    assert client.get("/api/v1/followups", headers=ours.auth).json() == []
    session.expire_all()
    assert session.get(Followup, followup.id).status == "scheduled"


def test_admin_updates_settings_and_gets_lint_warnings(client, session) -> None:
    tenant = make_tenant(session)
    response = client.put("/api/v1/followups/settings", headers=tenant.auth, json={
        "delay_seconds": 600, "mode": "link", "per_contact_hours": 48,
        "template": "BOOK NOW at bit.ly/x {{ link }}",
        "variants": [{"name": "a", "mode": "link", "weight": 3}, {"name": "b", "mode": "agent", "weight": 1}],
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert {w["code"] for w in body["warnings"]} >= {"public_shortener", "all_caps", "no_business_name"}
    assert [v["name"] for v in body["variants"]] == ["a", "b"]
    session.expire_all()
    account = session.get(Account, tenant.account.id)
    assert account.followup_delay_seconds == 600 and account.followup_per_contact_hours == 48
    assert session.scalars(select(FollowupVariant.weight).order_by(FollowupVariant.id)).all() == [3, 1]
    assert client.get("/api/v1/followups/settings", headers=tenant.auth).json()["delay_seconds"] == 600


def test_csr_cannot_change_settings(client, session) -> None:
    tenant = make_tenant(session)
    auth = _csr_auth(session, tenant)
    assert client.get("/api/v1/followups/settings", headers=auth).status_code == 200
    response = client.put("/api/v1/followups/settings", headers=auth, json={"delay_seconds": 5})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Account, tenant.account.id).followup_delay_seconds is None


def test_invalid_settings_name_the_field_and_change_nothing(client, session) -> None:
    tenant = make_tenant(session)
    for payload, field in [({"delay_seconds": -1}, "delay_seconds"), ({"mode": "email"}, "mode"),
                           ({"delay_seconds": 60, "template": "{{ secret }}"}, "template"),
                           ({"variants": [{"name": "only"}]}, "variants"),
                           ({"variants": [{"name": "a"}, {"name": "b", "weight": -2}]}, "variants[1].weight"),
                           ({"scheduler_url_template": "ftp://x"}, "scheduler_url_template"),
                           ({"colour": "red"}, "colour")]:
        response = client.put("/api/v1/followups/settings", headers=tenant.auth, json=payload)
        assert response.status_code == 400, payload
        assert response.json()["detail"].startswith(field), response.json()
    session.expire_all()
    account = session.get(Account, tenant.account.id)
    assert account.followup_delay_seconds is None and account.followup_template is None


def test_lint_endpoint_answers_warnings_and_segments_without_saving(client, session) -> None:
    tenant = make_tenant(session)
    response = client.post("/api/v1/followups/lint", headers=tenant.auth,
                           json={"template": "{{ business_name }} 🔧🔥💧🚿 {{ link }}"})
    body = response.json()
    assert response.status_code == 200 and body["valid"] and body["segments"]["encoding"] == "UCS-2"
    assert "emoji" in {w["code"] for w in body["warnings"]}
    broken = client.post("/api/v1/followups/lint", headers=tenant.auth, json={"template": "{% if %}"}).json()
    assert broken["valid"] is False and "template error" in broken["error"]
    session.expire_all()
    assert session.get(Account, tenant.account.id).followup_template is None
