"""Open slots: several ranges a day, durations, technicians, blackouts, a DST change, job types by
alias, and the slots API answering exactly what the agent's find_slots offers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from agent.tools import ToolContext, execute
from bookings.calendar import BuiltinCalendar
from bookings.calendar_config import update
from bookings.catalog import job_type_named, resolve_job_type
from bookings.offer import offered_slots
from core.db import utcnow
from tests.agent.conftest import LA, Shop, local, make_shop, next_weekday, other_contact
from tests.factories import make_tenant

cal = BuiltinCalendar()
SPLIT_TUESDAY = {"tue": [["08:00", "12:00"], ["13:00", "17:00"]]}


def _setup(session: Session, shop: Shop, **calendar: object) -> None:
    update(session, shop.account, calendar)
    session.commit()


def test_slots_start_in_each_range_and_a_job_ends_by_its_ranges_close(session: Session, shop: Shop) -> None:
    _setup(session, shop, business_hours=SPLIT_TUESDAY, slot_minutes=60)
    tuesday = next_weekday(1)
    heater = job_type_named(session, shop.account, "Water heater repair")
    starts = [s.starts_at for s in cal.find_slots(session, shop.account, heater, tuesday, tuesday, limit=20)]  # type: ignore[arg-type]
    # A 2-hour job: 08, 09, 10 before lunch (ends by 12:00), 13, 14, 15 after; never across lunch at 11:00.
    assert starts == [local(tuesday, h) for h in (8, 9, 10, 13, 14, 15)]


def test_technicians_durations_and_blackouts_shape_what_is_open(session: Session, shop: Shop) -> None:
    tuesday, wednesday = next_weekday(1), next_weekday(2)
    _setup(session, shop, business_hours=SPLIT_TUESDAY | {"wed": [["08:00", "12:00"]]}, technicians=2,
           job_types=[{"name": "Water heater install", "duration_minutes": 240}, {"name": "Drain cleaning",
                                                                                 "duration_minutes": 60}],
           blackouts=[{"day": wednesday.isoformat(), "reason": "Team training"}])
    install = job_type_named(session, shop.account, "water heater install")
    assert install is not None
    # Four hours fit only the 08:00-12:00 morning (the afternoon range is four hours too: 13:00).
    assert [s.starts_at for s in cal.find_slots(session, shop.account, install, tuesday, tuesday)] == [
        local(tuesday, 8), local(tuesday, 13)]
    assert cal.find_slots(session, shop.account, install, wednesday, wednesday) == []
    sam = other_contact(session, shop)
    for contact_id in (shop.contact.id, sam.contact_id):
        cal.book(session, shop.account, install, local(tuesday, 8), contact_id=contact_id, thread_id=None,
                 source="csr")
    session.commit()
    drain = job_type_named(session, shop.account, "Drain cleaning")
    # Both technicians are out all morning: the first one-hour drain slot is after lunch.
    assert cal.find_slots(session, shop.account, drain, tuesday, tuesday)[0].starts_at == local(tuesday, 13)  # type: ignore[arg-type]


def test_slots_keep_local_hours_across_a_dst_change(session: Session, shop: Shop) -> None:
    _setup(session, shop, business_hours={"sat": [["08:00", "12:00"]], "mon": [["08:00", "12:00"]]})
    heater = job_type_named(session, shop.account, "Water heater repair")
    now = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)  # clocks in Los Angeles spring forward on Sun 2027-03-14
    slots = offered_slots(session, shop.account, heater, date(2027, 3, 13), date(2027, 3, 15), now=now)  # type: ignore[arg-type]
    assert [s["start"] for s in slots] == ["2027-03-13T08:00:00-08:00", "2027-03-13T10:00:00-08:00",
                                           "2027-03-15T08:00:00-07:00", "2027-03-15T10:00:00-07:00"]
    assert slots[2]["end"] == "2027-03-15T10:00:00-07:00" and slots[2]["label"] == "Mon Mar 15, 8:00 AM"


def test_a_job_type_is_found_by_alias_and_an_unknown_one_gets_the_default(session: Session, shop: Shop) -> None:
    _setup(session, shop, job_types=[
        {"name": "Drain cleaning", "duration_minutes": 60, "aliases": ["clogged drain"]},
        {"name": "Water heater repair", "duration_minutes": 120, "aliases": ["No Hot Water", "water heater"]}])
    job, matched = resolve_job_type(session, shop.account, "  no hot   WATER ")
    assert matched and job is not None and job.name == "Water heater repair"
    job, matched = resolve_job_type(session, shop.account, "Roof repair")
    assert not matched and job is not None and job.name == "Drain cleaning"  # the first in the admin's order


def test_slots_api_answers_exactly_what_the_agent_is_offered(client, session: Session) -> None:
    tenant = make_tenant(session)
    shop = make_shop(session, tenant.account)
    _setup(session, shop, business_hours=SPLIT_TUESDAY, job_types=[
        {"name": "Water heater repair", "duration_minutes": 120, "aliases": ["water heater"]}])
    tuesday = next_weekday(1)
    ctx = ToolContext(session=session, account=shop.account, thread=shop.thread, contact=shop.contact, now=utcnow())
    offered = execute(ctx, "find_slots", json.dumps({"job_type": "water heater", "date_from": tuesday.isoformat(),
                                                     "date_to": tuesday.isoformat()}))
    response = client.get(f"/api/v1/calendar/slots?job_type=water%20heater&from={tuesday}&to={tuesday}",
                          headers=tenant.auth)
    assert response.status_code == 200, response.text
    api = response.json()
    assert [s["start"] for s in api] == [s["start"] for s in offered.content["slots"]]
    assert [s["label"] for s in api] == [s["label"] for s in offered.content["slots"]]
    assert [s["start"] for s in api] == [local(tuesday, h).isoformat() for h in (8, 10, 13, 15)]
    assert all(datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"]) == timedelta(hours=2)
               for s in api)
    assert datetime.fromisoformat(api[0]["start"]).utcoffset() == local(tuesday, 8).astimezone(LA).utcoffset()


def test_slots_api_names_a_bad_parameter(client, session: Session) -> None:
    tenant = make_tenant(session)
    make_shop(session, tenant.account)
    for query, detail in (("job_type=roofing", 'job_type: "roofing"'), ("from=tomorrow", 'from: "tomorrow"'),
                          ("from=2030-01-02&to=2030-01-01", "to: before from"),
                          ("part_of_day=night", "part_of_day: one of")):
        response = client.get(f"/api/v1/calendar/slots?{query}", headers=tenant.auth)
        assert response.status_code == 422 and response.json()["detail"].startswith(detail), response.text
