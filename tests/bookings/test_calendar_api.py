"""GET/PUT /api/v1/calendar: the business's own hours, technicians, job types and blackout days."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.models import BlackoutDate, JobType
from inbox.models import Account
from tests.factories import Tenant, make_tenant
from tests.web.helpers import login

CALENDAR = {
    "business_hours": {"mon": [["08:00", "17:00"]], "tue": [["08:00", "12:00"], ["13:00", "17:00"]],
                       "wed": [], "thu": [], "fri": [], "sat": [], "sun": []},
    "technicians": 2,
    "job_types": [{"name": "Water heater repair", "duration_minutes": 120,
                   "aliases": ["water heater", "no hot water"], "active": True}],
    "blackouts": [{"day": "2026-12-25", "reason": "Christmas"}],
}


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session)


def test_put_then_get_gives_back_the_calendar_in_the_contract_shape(client, tenant: Tenant) -> None:
    response = client.put("/api/v1/calendar", json=CALENDAR, headers=tenant.auth)
    assert response.status_code == 200, response.text
    got = client.get("/api/v1/calendar", headers=tenant.auth).json()
    for key, value in CALENDAR.items():
        assert got[key] == value, key
    assert got["timezone"] == "America/Los_Angeles" and got["slot_minutes"] == 120


def test_a_new_account_shows_its_default_hours_as_ranges(client, tenant: Tenant) -> None:
    got = client.get("/api/v1/calendar", headers=tenant.auth).json()
    assert got["business_hours"]["mon"] == [["08:00", "18:00"]]
    assert got["business_hours"]["sun"] == [] and got["job_types"] == [] and got["blackouts"] == []


def test_what_a_put_leaves_out_keeps_its_value(client, tenant: Tenant) -> None:
    client.put("/api/v1/calendar", json=CALENDAR, headers=tenant.auth)
    response = client.put("/api/v1/calendar", json={"technicians": 3, "business_hours": {"wed": [["09:00", "15:00"]]}},
                          headers=tenant.auth)
    got = response.json()
    assert got["technicians"] == 3
    assert got["business_hours"]["wed"] == [["09:00", "15:00"]]
    assert got["business_hours"]["tue"] == CALENDAR["business_hours"]["tue"]  # type: ignore[index]
    assert got["job_types"] == CALENDAR["job_types"] and got["blackouts"] == CALENDAR["blackouts"]


def test_job_types_keep_the_admins_order_and_a_left_out_one_is_removed(client, tenant: Tenant,
                                                                      session: Session) -> None:
    jobs = [{"name": "Drain cleaning", "duration_minutes": 60}, {"name": "Leak repair", "duration_minutes": 90,
                                                                   "active": False}]
    client.put("/api/v1/calendar", json=CALENDAR, headers=tenant.auth)
    got = client.put("/api/v1/calendar", json={"job_types": jobs}, headers=tenant.auth).json()
    assert [(j["name"], j["duration_minutes"], j["aliases"], j["active"]) for j in got["job_types"]] == [
        ("Drain cleaning", 60, [], True), ("Leak repair", 90, [], False)]
    names = session.scalars(select(JobType.name).where(JobType.account_id == tenant.account.id)).all()
    assert sorted(names) == ["Drain cleaning", "Leak repair"]


BAD_SHAPES: list[tuple[dict[str, Any], str]] = [
    ({"business_hours": {"mon": [["25:00", "26:00"]]}}, 'business_hours.mon[0]: "25:00" is not a time'),
    ({"business_hours": {"mon": [["8am", "17:00"]]}}, 'business_hours.mon[0]: "8am" is not a time'),
    ({"business_hours": {"tue": [["08:00", "12:00"], ["11:00", "14:00"]]}}, "business_hours.tue[1]: 11:00-14:00 overlaps"),
    ({"business_hours": {"wed": [["17:00", "08:00"]]}}, "business_hours.wed[0]: opens at 17:00"),
    ({"business_hours": {"wed": [["08:00"]]}}, "business_hours.wed[0]: must be a pair"),
    ({"business_hours": {"wed": ["08:00", "17:00"]}}, "business_hours.wed[0]: must be a pair"),
    ({"business_hours": {"funday": []}}, "business_hours.funday: not a weekday"),
    ({"business_hours": [["08:00", "17:00"]]}, "business_hours: must be an object"),
    ({"technicians": 0}, "technicians: must be from 1"),
    ({"technicians": "two"}, "technicians: 'two' is not a whole number"),
    ({"technicians": True}, "technicians: True is not a whole number"),
    ({"slot_minutes": 5}, "slot_minutes: must be from 15"),
    ({"job_types": {"name": "x"}}, "job_types: must be a list"),
    ({"job_types": [{"duration_minutes": 60}]}, "job_types[0].name: required"),
    ({"job_types": [{"name": "  "}]}, "job_types[0].name: must be a non-empty string"),
    ({"job_types": [{"name": "A", "duration_minutes": 0}]}, "job_types[0].duration_minutes: must be from 15"),
    ({"job_types": [{"name": "A", "aliases": "a"}]}, "job_types[0].aliases: must be a list"),
    ({"job_types": [{"name": "A", "aliases": [3]}]}, "job_types[0].aliases[0]: must be a non-empty string"),
    ({"job_types": [{"name": "A", "active": "yes"}]}, "job_types[0].active: must be true or false"),
    ({"job_types": [{"name": "A", "color": "red"}]}, "job_types[0].color: unknown field"),
    ({"job_types": [{"name": "Drain"}, {"name": "drain"}]}, 'job_types[1].name: "drain" already names "Drain"'),
    ({"job_types": [{"name": "Heater", "aliases": ["leak"]}, {"name": "Leak"}]},
     'job_types[1].name: "Leak" already names "Heater"'),
    ({"job_types": [{"name": "A", "active": False}]}, "job_types: at least one job type must be active"),
    ({"blackouts": [{"day": "2026-13-01"}]}, 'blackouts[0].day: "2026-13-01" is not a date'),
    ({"blackouts": [{"day": "20261225"}]}, 'blackouts[0].day: "20261225" is not a date'),
    ({"blackouts": [{"day": "2026-12-25"}, {"day": "2026-12-25"}]}, "blackouts[1].day: 2026-12-25 is listed twice"),
    ({"blackouts": [{"reason": "x"}]}, "blackouts[0]: must be an object"),
    ({"blackouts": [{"day": "2026-12-25", "reason": 7}]}, "blackouts[0].reason: must be text or null"),
    ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
    ({"hours": {}}, "hours: unknown field"),
]


@pytest.mark.parametrize(("body", "detail"), BAD_SHAPES, ids=[d.split(":")[0] for _, d in BAD_SHAPES])
def test_each_bad_shape_is_a_422_naming_the_field(client, tenant: Tenant, body: dict[str, Any], detail: str) -> None:
    response = client.put("/api/v1/calendar", json=body, headers=tenant.auth)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(detail), response.json()["detail"]


def test_a_bad_field_writes_nothing_of_the_good_ones(client, tenant: Tenant, session: Session) -> None:
    body = {"technicians": 5, "job_types": [{"name": "Leak repair", "duration_minutes": 60}],
            "blackouts": [{"day": "2026-12-31"}], "business_hours": {"mon": [["08:00", "24:30"]]}}
    assert client.put("/api/v1/calendar", json=body, headers=tenant.auth).status_code == 422
    session.expire_all()
    account = session.get_one(Account, tenant.account.id)
    assert account.technicians == 2 and account.business_hours["mon"] == [["08:00", "18:00"]]
    assert session.scalars(select(JobType).where(JobType.account_id == account.id)).all() == []
    assert session.scalars(select(BlackoutDate).where(BlackoutDate.account_id == account.id)).all() == []


def test_only_admins_change_the_calendar_but_reps_read_it(client, tenant: Tenant, session: Session) -> None:
    login(client, tenant.csr.email)
    assert client.get("/api/v1/calendar").status_code == 200
    response = client.put("/api/v1/calendar", json={"technicians": 9})
    assert response.status_code == 403
    session.expire_all()
    assert session.get_one(Account, tenant.account.id).technicians == 2
