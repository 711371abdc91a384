"""Live tiles: "today" is the account's local day, even a few minutes either side of midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from analytics.tiles import tiles
from bookings.models import Booking, BookingSession
from core.db import utcnow
from followups.models import Followup
from inbox.models import Contact, Message, Thread
from tests.factories import Tenant, make_tenant

# 23:30 on Nov 23 in Los Angeles; 02:30 on Nov 24 in New York.
NOW = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)


class Rows:
    def __init__(self, session, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
        self.session, self.account_id, self.n = session, tenant.account.id, 0

    def thread(self, **fields: object) -> Thread:
        self.n += 1
        contact = Contact(account_id=self.account_id, phone=f"+1212555{self.n:04d}")
        self.session.add(contact)
        self.session.flush()
        thread = Thread(account_id=self.account_id, contact_id=contact.id, **fields)
        self.session.add(thread)
        self.session.flush()
        return thread

    def followup(self, status: str, due_at: datetime, sent_at: datetime | None = None) -> Followup:
        thread = self.thread()
        booking = BookingSession(account_id=self.account_id, external_id=f"s{self.n}", contact_id=thread.contact_id,
                                 abandoned_at=due_at - timedelta(minutes=15))
        self.session.add(booking)
        self.session.flush()
        followup = Followup(account_id=self.account_id, session_id=booking.id, contact_id=thread.contact_id,
                            thread_id=thread.id, due_at=due_at, status=status, sent_at=sent_at)
        self.session.add(followup)
        self.session.flush()
        return followup

    def booking(self, at: datetime, status: str = "booked") -> None:
        thread = self.thread()
        self.session.add(Booking(account_id=self.account_id, contact_id=thread.contact_id, source="agent",
                                 status=status, created_at=at))

    def text(self, thread: Thread, direction: str, at: datetime, sender: str) -> None:
        self.session.add(Message(account_id=self.account_id, thread_id=thread.id, contact_id=thread.contact_id,
                                 direction=direction, sender=sender, body="x", status="received", created_at=at))


def _history(session):  # type: ignore[no-untyped-def]
    la = make_tenant(session)
    ny = make_tenant(session, name="NY Heat", phone="+12125550100", slug="ny", timezone="America/New_York")
    for tenant in (la, ny):
        rows = Rows(session, tenant)
        rows.followup("scheduled", NOW + timedelta(minutes=30))   # waiting, due within the hour
        rows.followup("scheduled", NOW + timedelta(hours=2))      # waiting
        rows.followup("scheduled", NOW - timedelta(minutes=5))    # overdue: going out now
        rows.followup("cancelled", NOW + timedelta(minutes=10))   # not waiting at all
        for sent in (datetime(2026, 11, 24, 7, 10, tzinfo=UTC),   # 23:10 LA (today) / 02:10 NY (today)
                     datetime(2026, 11, 24, 4, 30, tzinfo=UTC),   # 20:30 LA (today) / 23:30 NY, Nov 23 (yesterday)
                     datetime(2026, 11, 23, 20, 0, tzinfo=UTC),   # 12:00 LA (today) / yesterday in NY
                     datetime(2026, 11, 23, 7, 50, tzinfo=UTC)):  # 23:50 LA, Nov 22 (yesterday in both)
            rows.followup("sent", sent - timedelta(minutes=1), sent_at=sent)
        rows.booking(datetime(2026, 11, 24, 5, 30, tzinfo=UTC))   # 21:30 LA today / 00:30 NY today
        rows.booking(datetime(2026, 11, 24, 4, 59, tzinfo=UTC))   # today LA / 23:59 NY yesterday
        rows.booking(datetime(2026, 11, 24, 6, 0, tzinfo=UTC), status="cancelled")
        rows.thread(owner="agent")
        rows.thread(owner="agent", status="resolved")
        waiting_long = rows.thread(owner="csr", escalated=True)
        rows.text(waiting_long, "outbound", NOW - timedelta(hours=2), "csr")
        rows.text(waiting_long, "inbound", NOW - timedelta(minutes=50), "customer")
        rows.text(waiting_long, "inbound", NOW - timedelta(minutes=40), "customer")
        waiting_short = rows.thread(owner="csr", escalated=True)
        rows.text(waiting_short, "inbound", NOW - timedelta(minutes=10), "customer")
        answered = rows.thread(owner="csr", escalated=True)
        rows.text(answered, "inbound", NOW - timedelta(hours=1), "customer")
        rows.text(answered, "outbound", NOW - timedelta(minutes=30), "csr")
        closed = rows.thread(owner="csr", escalated=True, status="resolved")
        rows.text(closed, "inbound", NOW - timedelta(hours=5), "customer")
    session.commit()
    return la, ny


def test_tiles_count_today_in_each_accounts_time_zone_around_midnight(session) -> None:
    la, ny = _history(session)
    common = {"followups_waiting": 2, "due_next_hour": 2, "threads_with_agent": 1, "escalated_waiting": 2,
              "longest_wait_seconds": 50 * 60}
    got_la = tiles(session, la.account.id, "America/Los_Angeles", NOW)
    assert {k: got_la[k] for k in common} == common
    assert (got_la["sent_today"], got_la["booked_today"], got_la["today"]) == (3, 2, "2026-11-23")
    got_ny = tiles(session, ny.account.id, "America/New_York", NOW)
    assert {k: got_ny[k] for k in common} == common
    assert (got_ny["sent_today"], got_ny["booked_today"], got_ny["today"]) == (1, 1, "2026-11-24")


def test_tiles_api_answers_for_the_callers_account_now(client, session) -> None:
    tenant = make_tenant(session)
    other = make_tenant(session, name="Other", phone="+14155550199", slug="other")
    now = utcnow()
    Rows(session, tenant).followup("scheduled", now + timedelta(minutes=20))
    Rows(session, other).followup("scheduled", now + timedelta(hours=3))
    session.commit()
    body = client.get("/api/v1/analytics/tiles", headers=tenant.auth).json()
    assert (body["followups_waiting"], body["due_next_hour"], body["sent_today"]) == (1, 1, 0)
    assert body["timezone"] == "America/Los_Angeles" and body["escalated_waiting"] == 0
    assert body["longest_wait_seconds"] is None
