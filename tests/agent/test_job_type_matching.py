"""A scheduler's `job.type` is matched by name or alias; an unknown one gets the default job type,
and the team is told in a note."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.prompts import system_prompt
from agent.service import start_followup_conversation
from bookings.calendar_config import update
from bookings.models import BookingSession
from inbox.models import Note
from tests.agent.conftest import Shop

NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def _session(session: Session, shop: Shop, job_type: str) -> None:
    update(session, shop.account, {"job_types": [
        {"name": "Drain cleaning", "duration_minutes": 60},
        {"name": "Water heater repair", "duration_minutes": 120, "aliases": ["no hot water"]}]})
    session.add(BookingSession(account_id=shop.account.id, external_id="s1", contact_id=shop.contact.id,
                               thread_id=shop.thread.id, job_type=job_type))
    shop.thread.owner = "none"
    session.commit()


def _notes(session: Session, shop: Shop) -> list[str]:
    return list(session.scalars(select(Note.body).where(Note.thread_id == shop.thread.id)))


def test_an_alias_is_offered_as_its_job_type_without_a_note(session: Session, shop: Shop, agent_on: None) -> None:
    _session(session, shop, "No Hot Water")
    assert 'Started booking online: Water heater repair (they chose "No Hot Water")' in system_prompt(
        session, shop.account, shop.thread, shop.contact, NOW)
    assert start_followup_conversation(session, shop.thread, 1) is not None
    assert _notes(session, shop) == []


def test_an_unknown_job_type_gets_the_default_and_a_note_for_the_team(session: Session, shop: Shop,
                                                                      agent_on: None) -> None:
    _session(session, shop, "Roof leak")
    prompt = system_prompt(session, shop.account, shop.thread, shop.contact, NOW)
    assert '"Roof leak", which is not one of our job types: offer Drain cleaning instead' in prompt
    assert start_followup_conversation(session, shop.thread, 1) is not None
    session.commit()
    [note] = _notes(session, shop)
    assert '"Roof leak"' in note and "Drain cleaning (the default job type)" in note and "alias" in note
