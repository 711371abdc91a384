"""The funnel counts each stage and leak from the rows the pipeline writes, per variant."""

from __future__ import annotations

from datetime import timedelta

from bookings.models import Booking, BookingSession
from core.db import utcnow
from followups.funnel import funnel
from followups.models import Followup, TrackedLink
from inbox.models import ConsentEvent, Contact, Message, Thread
from tests.factories import make_tenant


def _followup(session, tenant, n: int, variant: str, status: str, **extra):  # type: ignore[no-untyped-def]
    contact = Contact(account_id=tenant.account.id, phone=f"+1415555{n:04d}", name=f"C{n}")
    session.add(contact)
    session.flush()
    thread = Thread(account_id=tenant.account.id, contact_id=contact.id)
    session.add(thread)
    session.flush()
    booking_session = BookingSession(account_id=tenant.account.id, external_id=f"sess_{n}", contact_id=contact.id,
                                     thread_id=thread.id)
    session.add(booking_session)
    session.flush()
    sent_at = utcnow() - timedelta(hours=1) if status == "sent" else None
    followup = Followup(account_id=tenant.account.id, session_id=booking_session.id, contact_id=contact.id,
                        thread_id=thread.id, due_at=utcnow(), status=status, variant=variant, sent_at=sent_at,
                        **extra)
    session.add(followup)
    session.flush()
    return followup, thread, contact


def _message(session, tenant, thread, contact, direction: str, status: str, error_code: str | None = None):  # type: ignore[no-untyped-def]
    message = Message(account_id=tenant.account.id, thread_id=thread.id, contact_id=contact.id, direction=direction,
                      sender="system" if direction == "outbound" else "customer", body="hi", status=status,
                      error_code=error_code)
    session.add(message)
    session.flush()
    return message


def test_funnel_counts_stages_leaks_and_attribution_per_variant(session) -> None:
    tenant = make_tenant(session)
    acct = tenant.account.id

    # A: delivered, clicked, replied, booked by the agent.
    f1, t1, c1 = _followup(session, tenant, 1, "A", "sent")
    f1.sent_message_id = _message(session, tenant, t1, c1, "outbound", "delivered").id
    session.add(TrackedLink(account_id=acct, code="a1", followup_id=f1.id, target_url="https://x", click_count=2))
    _message(session, tenant, t1, c1, "inbound", "received")
    session.add(Booking(account_id=acct, contact_id=c1.id, thread_id=t1.id, followup_id=f1.id, variant="A",
                        source="agent"))
    # A: delivered, a link preview only (not a click), then opted out.
    f2, t2, c2 = _followup(session, tenant, 2, "A", "sent")
    f2.sent_message_id = _message(session, tenant, t2, c2, "outbound", "delivered").id
    session.add(TrackedLink(account_id=acct, code="a2", followup_id=f2.id, target_url="https://x", preview_count=1))
    session.add(ConsentEvent(account_id=acct, contact_id=c2.id, phone=c2.phone, category="all", action="opt_out",
                             source="keyword", raw_text="STOP"))
    # B: sent but the carrier failed it; one blocked (opted out); one cancelled by a completed session.
    f3, t3, c3 = _followup(session, tenant, 3, "B", "sent")
    f3.sent_message_id = _message(session, tenant, t3, c3, "outbound", "undelivered", "30003").id
    _followup(session, tenant, 4, "B", "blocked", block_reason="opted_out")
    _followup(session, tenant, 5, "B", "cancelled", cancelled_by="session_completed")
    # A booking the scheduler made on its own, with no follow-up behind it.
    session.add(Booking(account_id=acct, contact_id=c3.id, source="scheduler"))
    # Another account's follow-up never shows.
    other = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    _followup(session, other, 9, "A", "sent")
    session.commit()

    report = funnel(session, acct)
    a, b, total = report["variants"]["A"], report["variants"]["B"], report["total"]
    assert a["stages"] == {"scheduled": 2, "sent": 2, "delivered": 2, "clicked": 1, "replied": 1, "booked": 1}
    assert a["leaks"]["opted_out"] == 1
    assert a["bookings_by_source"] == {"agent": 1}
    assert b["stages"] == {"scheduled": 3, "sent": 1, "delivered": 0, "clicked": 0, "replied": 0, "booked": 0}
    assert b["leaks"] == {"blocked": 1, "cancelled": 1, "failed": 0, "opted_out": 0}
    assert b["block_reasons"] == {"opted_out": 1}
    assert b["cancel_reasons"] == {"session_completed": 1}
    assert b["failure_reasons"] == {"error 30003": 1}
    assert total["stages"]["scheduled"] == 5 and total["stages"]["booked"] == 1
    assert report["bookings_without_followup"] == {"scheduler": 1}
