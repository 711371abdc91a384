from __future__ import annotations

from agent.models import LlmCall
from bookings.models import Booking
from inbox.models import Contact
from tests.factories import make_tenant


def test_funnel_api_is_scoped_to_the_callers_account(client, session) -> None:
    mine = make_tenant(session)
    other = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    contact = Contact(account_id=other.account.id, phone="+14155550123")
    session.add(contact)
    session.flush()
    session.add(Booking(account_id=other.account.id, contact_id=contact.id, source="scheduler"))
    session.add(LlmCall(account_id=other.account.id, model="m", prompt_tokens=10, completion_tokens=5,
                        latency_ms=300))
    session.commit()

    response = client.get("/api/v1/funnel", headers=mine.auth)
    assert response.status_code == 200
    assert response.json()["bookings_without_followup"] == {}
    assert response.json()["agent"]["calls"] == 0

    theirs = client.get("/api/v1/funnel", headers=other.auth).json()
    assert theirs["bookings_without_followup"] == {"scheduler": 1}
    assert theirs["agent"] == {"calls": 1, "failed": 0, "prompt_tokens": 10, "completion_tokens": 5,
                               "latency_p50_ms": 300}


def test_funnel_api_rejects_a_bad_date_naming_the_parameter(client, session) -> None:
    tenant = make_tenant(session)
    response = client.get("/api/v1/funnel?since=last-tuesday", headers=tenant.auth)
    assert response.status_code == 400
    assert "since" in response.json()["detail"]


def test_funnel_api_requires_login(client) -> None:
    assert client.get("/api/v1/funnel").status_code == 401


def test_dashboard_page_shows_the_funnel(client, session) -> None:
    tenant = make_tenant(session)
    response = client.get("/dashboard?days=7", headers=tenant.auth)
    assert response.status_code == 200
    assert 'id="funnel-total"' in response.text
    assert "No bookings yet." in response.text
