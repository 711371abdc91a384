"""A known history for the analytics tests: one Los Angeles account, two variants (A is the
baseline), October 2026, every kind of outcome, plus rows just outside the period and another
account's rows that must never show.

Expected numbers are written out by hand in the tests from the list below, not computed.

  A1 sent, delivered, tapped (and previewed), replied, booked by link 2 h later
  A2 sent, delivered, previewed only, replied STOP (an opt-out, not a reply)
  A3 agent mode: sent, delivered, replied, booked by the agent 1 day later; thread still with the agent
  A4 sent, undelivered (carrier 30003)
  A5 blocked: landline
  A6 cancelled: the customer booked on their own first (a scheduler booking with no follow-up sent)
  A7 sent, delivered; a rep booked 8 days later: outside the 7-day window, so not attributed
  A8 sent Oct 5 to Zoe, delivered      ┐ Zoe booked by link on Oct 9: the last touch is B9,
  B9 sent Oct 8 to Zoe, delivered      ┘ so the booking is B's, not A's
  B1 sent, delivered, tapped twice, booked by link
  B2 sent, delivered, replied, handed to a rep (escalated, customer waiting), booked by the rep
  B3 sent, delivered, tapped, booked in the scheduler (counts as by link)
  B4 cancelled: replied first   B5 cancelled by a rep   B6 cancelled: opted out   B7 failed: no link
  B8 sent, delivered, nothing more
  B10 abandoned Oct 31 23:50 in Los Angeles (Nov 1 in UTC): inside the period, still scheduled
  X  abandoned Sep 30 23:30 in Los Angeles (Oct 1 in UTC): outside the period, booked by link
  N  a session abandoned Oct 10 that never got a follow-up
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bookings.models import Booking, BookingSession
from followups.models import Followup, FollowupVariant, TrackedLink
from inbox.models import ConsentEvent, Contact, Message, Thread
from tests.factories import Tenant, make_tenant

LA = ZoneInfo("America/Los_Angeles")
SINCE, UNTIL = "2026-10-01", "2026-10-31"


def la(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


@dataclass
class History:
    tenant: Tenant
    other: Tenant
    followups: dict[str, Followup] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)


class Builder:
    def __init__(self, session: Session, tenant: Tenant) -> None:
        self.session, self.tenant, self.n = session, tenant, 0

    @property
    def account_id(self) -> int:
        return self.tenant.account.id

    def contact(self, name: str) -> tuple[Contact, Thread]:
        self.n += 1
        contact = Contact(account_id=self.account_id, phone=f"+1415555{self.n:04d}", name=name,
                          timezone="America/New_York" if self.n % 2 else "America/Los_Angeles")
        self.session.add(contact)
        self.session.flush()
        thread = Thread(account_id=self.account_id, contact_id=contact.id)
        self.session.add(thread)
        self.session.flush()
        return contact, thread

    def message(self, thread: Thread, direction: str, at: datetime, body: str = "hi", status: str | None = None,
                sender: str | None = None, error_code: str | None = None) -> Message:
        message = Message(account_id=self.account_id, thread_id=thread.id, contact_id=thread.contact_id,
                          direction=direction, sender=sender or ("customer" if direction == "inbound" else "system"),
                          body=body, status=status or ("received" if direction == "inbound" else "delivered"),
                          error_code=error_code, created_at=at)
        self.session.add(message)
        self.session.flush()
        return message

    def followup(self, key: str, variant: str | None, abandoned: datetime, status: str, *, mode: str = "link",
                 sent: datetime | None = None, delivery: str = "delivered", error_code: str | None = None,
                 contact: tuple[Contact, Thread] | None = None, **extra: object) -> tuple[Followup, Thread]:
        person, thread = contact or self.contact(key)
        booking_session = BookingSession(account_id=self.account_id, external_id=f"sess_{key}", contact_id=person.id,
                                         thread_id=thread.id, abandoned_at=abandoned, created_at=abandoned)
        self.session.add(booking_session)
        self.session.flush()
        followup = Followup(account_id=self.account_id, session_id=booking_session.id, contact_id=person.id,
                            thread_id=thread.id, due_at=abandoned + timedelta(minutes=15), status=status, mode=mode,
                            variant=variant, sent_at=sent, created_at=abandoned, **extra)
        self.session.add(followup)
        self.session.flush()
        if sent is not None:
            followup.sent_message_id = self.message(thread, "outbound", sent, "Finish booking: https://x/l/c",
                                                    status=delivery, error_code=error_code).id
        return followup, thread

    def link(self, followup: Followup, clicks: int, previews: int = 0) -> None:
        self.session.add(TrackedLink(account_id=self.account_id, code=f"c{followup.id}", followup_id=followup.id,
                                     target_url="https://book.example.com", click_count=clicks,
                                     preview_count=previews))

    def booking(self, followup: Followup | None, contact_id: int, source: str, at: datetime,
                thread_id: int | None = None) -> Booking:
        booking = Booking(account_id=self.account_id, contact_id=contact_id, thread_id=thread_id, source=source,
                          followup_id=followup.id if followup else None, job_type="Water heater repair",
                          starts_at=at + timedelta(days=2), status="booked", created_at=at)
        self.session.add(booking)
        self.session.flush()
        return booking


def build(session: Session) -> History:
    tenant = make_tenant(session)
    other = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other", timezone="America/New_York")
    for name in ("A", "B"):  # settings order: A first, so A is the baseline
        session.add(FollowupVariant(account_id=tenant.account.id, name=name, mode="link", weight=1))
    session.flush()
    b = Builder(session, tenant)
    h = History(tenant, other)
    f, t = b.followup("A1", "A", la(10, 2, 9), "sent", sent=la(10, 2, 9, 15))
    b.link(f, clicks=1, previews=2)
    b.message(t, "inbound", la(10, 2, 9, 30), "is tuesday ok?")
    h.bookings["A1"] = b.booking(f, f.contact_id, "link", la(10, 2, 11, 15))
    h.followups["A1"] = f

    f, t = b.followup("A2", "A", la(10, 3, 9), "sent", sent=la(10, 3, 9, 15))
    b.link(f, clicks=0, previews=1)
    stop = b.message(t, "inbound", la(10, 3, 9, 20), "STOP")
    session.add(ConsentEvent(account_id=b.account_id, contact_id=f.contact_id, phone="+1", category="all",
                             action="opt_out", source="keyword", raw_text="STOP", message_id=stop.id,
                             created_at=la(10, 3, 9, 20)))
    h.followups["A2"] = f

    f, t = b.followup("A3", "A", la(10, 4, 10), "sent", mode="agent", sent=la(10, 4, 10, 15))
    b.message(t, "inbound", la(10, 4, 10, 40), "yes please")
    b.message(t, "outbound", la(10, 5, 10, 10), "You're booked for Friday", sender="agent")
    t.owner = "agent"
    h.bookings["A3"] = b.booking(f, f.contact_id, "agent", la(10, 5, 10, 15), thread_id=t.id)
    h.followups["A3"] = f

    h.followups["A4"], _ = b.followup("A4", "A", la(10, 6, 8), "sent", sent=la(10, 6, 8, 15),
                                      delivery="undelivered", error_code="30003")
    h.followups["A5"], _ = b.followup("A5", "A", la(10, 7, 8), "blocked", block_reason="landline")
    f, t = b.followup("A6", "A", la(10, 8, 8), "cancelled", cancelled_by="session_completed")
    h.bookings["A6"] = b.booking(f, f.contact_id, "scheduler", la(10, 8, 8, 5))
    h.followups["A6"] = f

    f, t = b.followup("A7", "A", la(10, 9, 8), "sent", sent=la(10, 9, 8, 15))
    t.owner, t.status = "csr", "resolved"
    h.bookings["A7"] = b.booking(f, f.contact_id, "csr", la(10, 17, 9), thread_id=t.id)
    h.followups["A7"] = f

    zoe = b.contact("Zoe")
    h.followups["A8"], _ = b.followup("A8", "A", la(10, 5, 7), "sent", sent=la(10, 5, 7, 15), contact=zoe)
    h.followups["B9"], _ = b.followup("B9", "B", la(10, 8, 7), "sent", sent=la(10, 8, 7, 15), contact=zoe)
    h.bookings["B9"] = b.booking(None, zoe[0].id, "link", la(10, 9, 7, 15))

    f, t = b.followup("B1", "B", la(10, 2, 14), "sent", sent=la(10, 2, 14, 15))
    b.link(f, clicks=2)
    h.bookings["B1"] = b.booking(f, f.contact_id, "link", la(10, 2, 15, 15))
    h.followups["B1"] = f

    f, t = b.followup("B2", "B", la(10, 3, 14), "sent", sent=la(10, 3, 14, 15))
    b.message(t, "inbound", la(10, 3, 15), "can someone call me")
    t.owner, t.escalated = "csr", True
    h.bookings["B2"] = b.booking(f, f.contact_id, "csr", la(10, 4, 14, 15), thread_id=t.id)
    h.followups["B2"] = f

    f, t = b.followup("B3", "B", la(10, 4, 14), "sent", sent=la(10, 4, 14, 15))
    b.link(f, clicks=1)
    h.bookings["B3"] = b.booking(f, f.contact_id, "scheduler", la(10, 4, 18, 15))
    h.followups["B3"] = f

    h.followups["B4"], _ = b.followup("B4", "B", la(10, 5, 14), "cancelled", cancelled_by="inbound_reply")
    h.followups["B5"], _ = b.followup("B5", "B", la(10, 6, 14), "cancelled", cancelled_by="csr")
    h.followups["B6"], _ = b.followup("B6", "B", la(10, 7, 14), "cancelled", cancelled_by="opt_out")
    h.followups["B7"], _ = b.followup("B7", "B", la(10, 8, 14), "failed")
    h.followups["B8"], _ = b.followup("B8", "B", la(10, 9, 14), "sent", sent=la(10, 9, 14, 15))
    h.followups["B10"], _ = b.followup("B10", "B", la(10, 31, 23, 50), "scheduled")

    f, t = b.followup("X", "A", la(9, 30, 23, 30), "sent", sent=la(9, 30, 23, 45))
    h.bookings["X"] = b.booking(f, f.contact_id, "link", la(10, 1, 1))
    person, thread = b.contact("N")
    session.add(BookingSession(account_id=b.account_id, external_id="sess_N", contact_id=person.id,
                               thread_id=thread.id, abandoned_at=la(10, 10), created_at=la(10, 10)))

    theirs = Builder(session, other)
    theirs.n = 500
    f, _ = theirs.followup("O1", "A", la(10, 2), "sent", sent=la(10, 2, 0, 15))
    theirs.booking(f, f.contact_id, "link", la(10, 2, 1))
    session.commit()
    return h
