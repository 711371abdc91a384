"""`session_ref`, the scheduler's own session id, on follow-ups and bookings in the API."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bookings.calendar_config import update
from tests.agent.conftest import local, next_weekday
from tests.factories import make_tenant
from tests.followups.helpers import event, post_event


def test_followups_and_bookings_carry_the_schedulers_session_id(client, session: Session) -> None:
    tenant = make_tenant(session)
    assert post_event(client, tenant, event(session_id="sess_abc")).status_code == 200
    [followup] = client.get("/api/v1/followups", headers=tenant.auth).json()
    assert followup["session_ref"] == "sess_abc"

    # A rep's booking on the thread the follow-up reached is attributed to it, session and all.
    booked = client.post("/api/v1/bookings", json={"contact_id": followup["contact_id"], "job_type": "Service visit",
                                                   "start": local(next_weekday(1), 8).isoformat()}, headers=tenant.auth)
    assert booked.status_code == 201, booked.text
    assert booked.json()["session_ref"] == "sess_abc"

    done = event("session.completed", id="evt_2", session_id="sess_xyz", phone="(415) 555-0199", name="Sam")
    assert post_event(client, tenant, done).status_code == 200
    refs = {b["source"]: b["session_ref"] for b in client.get("/api/v1/bookings", headers=tenant.auth).json()}
    assert refs == {"csr": "sess_abc", "scheduler": "sess_xyz"}


def test_a_completed_sessions_booking_is_named_by_the_job_type_its_alias_matches(client, session: Session) -> None:
    tenant = make_tenant(session)
    update(session, tenant.account, {"job_types": [{"name": "Water heater repair", "duration_minutes": 120,
                                                    "aliases": ["No hot water"]}]})
    session.commit()
    for n, job_type in enumerate(("no HOT water", "Roof leak")):
        done = event("session.completed", id=f"evt_{n}", session_id=f"sess_{n}", phone=f"(415) 555-01{n}0",
                     job_type=job_type)
        assert post_event(client, tenant, done).status_code == 200
    names = sorted(b["job_type"] for b in client.get("/api/v1/bookings", headers=tenant.auth).json())
    assert names == ["Roof leak", "Water heater repair"]  # an unknown one keeps what the customer chose
