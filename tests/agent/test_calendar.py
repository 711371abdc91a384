"""The built-in booking calendar: hours, time zone, job durations, capacity, blackouts, ownership."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bookings.calendar import BuiltinCalendar, SlotUnavailable
from bookings.models import BlackoutDate, Booking, JobType
from core.db import get_sessionmaker, utcnow
from inbox.models import Account
from tests.agent.conftest import Shop, local, next_weekday, other_contact

cal = BuiltinCalendar()


def _book(session: Session, shop: Shop, start, contact_id=None, job=None) -> Booking:  # type: ignore[no-untyped-def]
    return cal.book(session, shop.account, job or shop.heater, start, contact_id=contact_id or shop.contact.id,
                    thread_id=shop.thread.id, source="agent")


def test_slots_follow_business_hours_in_the_accounts_time_zone(session: Session, shop: Shop) -> None:
    tuesday = next_weekday(1)
    slots = cal.find_slots(session, shop.account, shop.heater, tuesday, tuesday)
    # 08:00-18:00 Los Angeles, 2-hour slots, a 2-hour job must end by 18:00.
    assert [s.starts_at for s in slots] == [local(tuesday, h) for h in (8, 10, 12, 14, 16)]
    assert all(s.ends_at - s.starts_at == timedelta(hours=2) for s in slots)


def test_short_jobs_fit_the_last_slot_and_parts_of_day_filter(session: Session, shop: Shop) -> None:
    saturday = next_weekday(5)
    # Saturday 09:00-14:00: slots at 09, 11; a 1-hour drain job also fits at 13:00.
    drains = cal.find_slots(session, shop.account, shop.drain, saturday, saturday)
    assert [s.starts_at for s in drains] == [local(saturday, h) for h in (9, 11, 13)]
    afternoon = cal.find_slots(session, shop.account, shop.drain, saturday, saturday, "afternoon")
    assert [s.starts_at for s in afternoon] == [local(saturday, 13)]


def test_closed_days_and_blackout_dates_have_no_slots(session: Session, shop: Shop) -> None:
    sunday, monday = next_weekday(6), next_weekday(0)
    session.add(BlackoutDate(account_id=shop.account.id, day=monday, reason="holiday"))
    session.commit()
    assert cal.find_slots(session, shop.account, shop.heater, sunday, sunday) == []
    assert cal.find_slots(session, shop.account, shop.heater, monday, monday) == []
    with pytest.raises(SlotUnavailable, match="closed"):
        _book(session, shop, local(monday, 8))


def test_a_full_slot_is_not_offered_and_cannot_be_booked(session: Session, shop: Shop) -> None:
    tuesday = next_weekday(1)
    _book(session, shop, local(tuesday, 8))
    session.commit()
    sam = other_contact(session, shop)
    assert local(tuesday, 8) not in [s.starts_at for s in cal.find_slots(session, shop.account, shop.heater,
                                                                          tuesday, tuesday)]
    with pytest.raises(SlotUnavailable, match="full"):
        _book(session, shop, local(tuesday, 8), contact_id=sam.contact_id)


def test_capacity_is_the_number_of_technicians(session: Session, shop: Shop) -> None:
    shop.account.technicians = 2
    session.commit()
    tuesday = next_weekday(1)
    sam = other_contact(session, shop)
    first = _book(session, shop, local(tuesday, 10))
    second = _book(session, shop, local(tuesday, 10), contact_id=sam.contact_id)
    session.commit()
    assert {first.seat, second.seat} == {0, 1}
    with pytest.raises(SlotUnavailable, match="full"):
        _book(session, shop, local(tuesday, 10), contact_id=sam.contact_id)


def test_a_long_job_holds_its_technician_for_every_slot_it_spans(session: Session, shop: Shop) -> None:
    install = JobType(account_id=shop.account.id, name="Water heater install", duration_minutes=240)
    session.add(install)
    session.commit()
    tuesday = next_weekday(1)
    _book(session, shop, local(tuesday, 8), job=install)
    session.commit()
    open_starts = [s.starts_at for s in cal.find_slots(session, shop.account, shop.heater, tuesday, tuesday)]
    assert open_starts == [local(tuesday, h) for h in (12, 14, 16)]
    sam = other_contact(session, shop)
    with pytest.raises(SlotUnavailable, match="full"):
        _book(session, shop, local(tuesday, 10), contact_id=sam.contact_id)


@pytest.mark.parametrize("hour, minute, why", [(7, 0, "not an available start"), (17, 0, "not an available start"),
                                                (9, 0, "not an available start"), (3, 0, "not an available start")])
def test_times_off_the_slot_grid_are_refused(session: Session, shop: Shop, hour: int, minute: int, why: str) -> None:
    with pytest.raises(SlotUnavailable, match=why):
        _book(session, shop, local(next_weekday(1), hour, minute))


def test_past_and_imminent_times_are_refused(session: Session, shop: Shop) -> None:
    with pytest.raises(SlotUnavailable, match="past"):
        _book(session, shop, utcnow() - timedelta(days=1))


def test_cancel_releases_the_seat_and_reschedule_moves_it(session: Session, shop: Shop) -> None:
    tuesday = next_weekday(1)
    booking = _book(session, shop, local(tuesday, 8))
    session.commit()
    cal.reschedule(session, shop.account, booking, local(tuesday, 12), contact_id=shop.contact.id)
    session.commit()
    assert booking.starts_at == local(tuesday, 12) and booking.seat == 0
    sam = other_contact(session, shop)
    _book(session, shop, local(tuesday, 8), contact_id=sam.contact_id)  # the old seat is free again
    cal.cancel(session, shop.account, booking, contact_id=shop.contact.id)
    session.commit()
    assert booking.status == "cancelled" and booking.seat is None
    _book(session, shop, local(tuesday, 12), contact_id=sam.contact_id)


def test_only_the_owner_can_reschedule_or_cancel(session: Session, shop: Shop) -> None:
    tuesday = next_weekday(1)
    booking = _book(session, shop, local(tuesday, 8))
    session.commit()
    sam = other_contact(session, shop)
    with pytest.raises(SlotUnavailable, match="no such booking"):
        cal.cancel(session, shop.account, booking, contact_id=sam.contact_id)
    with pytest.raises(SlotUnavailable, match="no such booking"):
        cal.reschedule(session, shop.account, booking, local(tuesday, 10), contact_id=sam.contact_id)
    assert booking.status == "booked" and booking.starts_at == local(tuesday, 8)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def test_two_concurrent_bookings_cannot_take_the_last_seat(session: Session, shop: Shop) -> None:
    """Session A holds an uncommitted booking of the last seat; B, in another thread, must lose."""
    if not _postgres(session):
        pytest.skip("concurrency proof runs on PostgreSQL (SQLite has one writer at a time)")
    sam = other_contact(session, shop)
    start = local(next_weekday(1), 14)
    maker = get_sessionmaker()
    first, second = maker(), maker()
    outcome: dict[str, object] = {}
    try:
        account_a = first.get(Account, shop.account.id)
        cal.book(first, account_a, shop.heater, start, contact_id=shop.contact.id, thread_id=None,  # type: ignore[arg-type]
                 source="agent")  # flushed, not committed: A holds the seat's index entry

        def contender() -> None:
            account_b = second.get(Account, shop.account.id)
            try:
                cal.book(second, account_b, shop.heater, start, contact_id=sam.contact_id, thread_id=None,  # type: ignore[arg-type]
                         source="agent")
                second.commit()
                outcome["b"] = "booked"
            except SlotUnavailable as exc:
                second.rollback()
                outcome["b"] = str(exc)

        racer = threading.Thread(target=contender)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "B must wait on A's uncommitted seat, not succeed beside it"
        first.commit()
        racer.join(timeout=10)
        assert "full" in str(outcome["b"])
    finally:
        first.close()
        second.close()
    assert session.scalar(select(func.count()).select_from(Booking).where(Booking.starts_at == start)) == 1


def test_many_threads_racing_for_one_seat_make_one_booking(session: Session, shop: Shop) -> None:
    if not _postgres(session):
        pytest.skip("concurrency proof runs on PostgreSQL (SQLite has one writer at a time)")
    start = local(next_weekday(2), 10)
    contacts = [other_contact(session, shop, phone=f"+1415555{n:04d}", name=f"C{n}").contact_id for n in range(8)]
    barrier = threading.Barrier(len(contacts))
    results: list[str] = []

    def racer(contact_id: int) -> None:
        s = get_sessionmaker()()
        try:
            account = s.get(Account, shop.account.id)
            barrier.wait()
            cal.book(s, account, shop.heater, start, contact_id=contact_id, thread_id=None, source="agent")  # type: ignore[arg-type]
            s.commit()
            results.append("booked")
        except SlotUnavailable:
            s.rollback()
            results.append("refused")
        finally:
            s.close()

    threads = [threading.Thread(target=racer, args=(c,)) for c in contacts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(results) == ["booked"] + ["refused"] * 7
    assert session.scalar(select(func.count()).select_from(Booking).where(Booking.starts_at == start)) == 1


def test_concurrent_overlapping_jobs_cannot_share_one_technician(session: Session, shop: Shop) -> None:
    """An 8:00 four-hour job and a 10:00 job, booked at once by two sessions, on one technician."""
    if not _postgres(session):
        pytest.skip("concurrency proof runs on PostgreSQL (SQLite has one writer at a time)")
    install = JobType(account_id=shop.account.id, name="Water heater install", duration_minutes=240)
    session.add(install)
    session.commit()
    sam = other_contact(session, shop)
    tuesday = next_weekday(1)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def racer(contact_id: int, job: JobType, hour: int) -> None:
        s = get_sessionmaker()()
        try:
            account = s.get(Account, shop.account.id)
            barrier.wait()
            cal.book(s, account, job, local(tuesday, hour), contact_id=contact_id, thread_id=None,  # type: ignore[arg-type]
                     source="agent")
            s.commit()
            results.append("booked")
        except SlotUnavailable:
            s.rollback()
            results.append("refused")
        finally:
            s.close()

    threads = [threading.Thread(target=racer, args=(shop.contact.id, install, 8)),
               threading.Thread(target=racer, args=(sam.contact_id, shop.heater, 10))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(results) == ["booked", "refused"]


def test_mistyped_business_hours_close_that_day_only(session: Session, shop: Shop) -> None:
    shop.account.business_hours = {"tue": ["8am", "6pm"], "wed": ["08:00", "12:00"]}
    session.commit()
    tuesday, wednesday = next_weekday(1), next_weekday(2)
    assert cal.find_slots(session, shop.account, shop.heater, tuesday, tuesday) == []
    assert [s.starts_at for s in cal.find_slots(session, shop.account, shop.heater, wednesday, wednesday)] == [
        local(wednesday, 8), local(wednesday, 10)]
