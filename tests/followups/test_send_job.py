"""The follow-up send job: re-checks at send time, sends once, defers quiet hours, never loses one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from redis import Redis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from core import queue
from core.db import utcnow
from followups import scheduling
from followups.jobs import send_followup
from followups.models import Followup, FollowupVariant, TrackedLink
from followups.scheduling import job_id, reconcile
from followups.service import cancel_pending_for_contact
from inbox.models import Contact, Message
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, past_due, post_event


def _followup(session) -> Followup:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(select(Followup)).one()


def _outbound(session) -> list[Message]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.direction == "outbound")))


def test_due_followup_sends_the_link_text_through_the_worker(client, session, worker) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant), url="https://book.example.com/s/sess_42"))
    worker()
    followup = _followup(session)
    assert followup.status == "sent", followup.detail
    [message] = _outbound(session)
    assert followup.sent_message_id == message.id and message.sender == "system"
    link = session.scalars(select(TrackedLink)).one()
    assert link.followup_id == followup.id and link.target_url == "https://book.example.com/s/sess_42"
    assert f"http://testserver.local/l/{link.code}" in message.body
    assert "Reyes Plumbing" in message.body and message.body.startswith("Hi Dana,")


def test_followup_not_yet_due_is_not_sent(client, session, worker) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event())  # due in 15 minutes
    worker()
    assert _followup(session).status == "scheduled" and _outbound(session) == []


def test_followup_enqueued_twice_sends_once(client, session, worker) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    followup = _followup(session)
    scheduling.enqueue_sweep(followup.due_at)  # same id: replaces
    queue.get_queue().enqueue(scheduling.SWEEP_JOB)  # a second sweep finds the row taken
    worker()
    assert send_followup(followup.id)["outcome"] == "skipped"
    assert _followup(session).status == "sent" and len(_outbound(session)) == 1


def test_reply_before_due_cancels_the_followup(client, session, worker) -> None:
    tenant = make_tenant(session)
    contact = daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    # What the inbound pipeline does in the reply's transaction.
    assert cancel_pending_for_contact(session, tenant.account.id, contact.id, "inbound_reply") == 1
    session.commit()
    worker()
    followup = _followup(session)
    assert followup.status == "cancelled" and followup.cancelled_by == "inbound_reply"
    assert _outbound(session) == []


def test_reply_on_the_thread_found_at_send_time_cancels_the_followup(client, session, worker) -> None:
    tenant = make_tenant(session)
    contact = daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    followup = _followup(session)
    session.add(Message(account_id=tenant.account.id, thread_id=followup.thread_id, contact_id=contact.id,
                        direction="inbound", sender="customer", body="can you come tomorrow?", status="received",
                        created_at=utcnow()))
    session.commit()
    worker()
    followup = _followup(session)
    assert followup.status == "cancelled" and followup.cancelled_by == "inbound_reply"
    assert _outbound(session) == []


def test_stop_before_due_cancels_the_followup(client, session, worker) -> None:
    tenant = make_tenant(session)
    contact = daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    contact.opted_out = True
    cancel_pending_for_contact(session, tenant.account.id, contact.id, "opt_out")
    session.commit()
    worker()
    followup = _followup(session)
    assert followup.status == "cancelled" and followup.cancelled_by == "opt_out"
    assert _outbound(session) == []


def test_opted_out_contact_at_send_time_is_blocked_with_the_reason(client, session) -> None:
    tenant = make_tenant(session)
    contact = daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    contact.opted_out = True
    session.commit()
    result = send_followup(_followup(session).id)
    followup = _followup(session)
    assert result["outcome"] == "blocked" and followup.status == "blocked" and followup.block_reason == "opted_out"
    assert _outbound(session) == []


def test_quiet_hours_defer_the_followup_to_8am_local(client, session, worker) -> None:
    tenant = make_tenant(session)
    contact = Contact(account_id=tenant.account.id, phone="+14155550134", name="Dana", timezone="America/Chicago")
    session.add(contact)
    session.commit()
    late = datetime(2026, 11, 20, 22, 30, tzinfo=ZoneInfo("America/Chicago"))
    post_event(client, tenant, event(occurred_at=late.astimezone(UTC) - timedelta(seconds=900)))
    followup = _followup(session)
    result = send_followup(followup.id, now=late.astimezone(UTC))
    assert result["outcome"] == "deferred"
    followup = _followup(session)
    assert followup.status == "scheduled"
    assert followup.due_at == datetime(2026, 11, 21, 8, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert job_id(followup.due_at) in ScheduledJobRegistry(queue=queue.get_queue()).get_job_ids()
    # At 8:00 local it goes out.
    assert send_followup(followup.id, now=followup.due_at)["outcome"] == "sent"
    assert len(_outbound(session)) == 1


def test_redis_down_at_event_time_still_sends_after_recovery(client, session, worker, monkeypatch) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(queue, "get_redis", lambda: dead)
    response = post_event(client, tenant, event(occurred_at=past_due(tenant)))
    assert response.status_code == 200
    monkeypatch.undo()
    followup = _followup(session)
    assert followup.status == "scheduled"
    worker()
    assert _followup(session).status == "scheduled"  # no job: nothing ran
    assert reconcile(session) == {"checked": 1, "enqueued": 1}
    assert reconcile(session) == {"checked": 1, "enqueued": 0}  # now it has its job
    worker()
    assert _followup(session).status == "sent" and len(_outbound(session)) == 1


def test_second_sessions_followup_within_24h_is_blocked_as_duplicate(client, session) -> None:
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event(id="e1", session_id="s1", occurred_at=past_due(tenant)))
    post_event(client, tenant, event(id="e2", session_id="s2", occurred_at=past_due(tenant)))
    first, second = session.scalars(select(Followup).order_by(Followup.id)).all()
    assert send_followup(first.id)["outcome"] == "sent"
    result = send_followup(second.id)
    session.expire_all()
    assert result["outcome"] == "blocked" and session.get(Followup, second.id).block_reason == "duplicate"
    assert len(_outbound(session)) == 1


def test_per_contact_limit_follows_the_account_setting(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.followup_per_contact_hours = 0
    daytime_contact(session, tenant)
    post_event(client, tenant, event(id="e1", session_id="s1", occurred_at=past_due(tenant)))
    post_event(client, tenant, event(id="e2", session_id="s2", occurred_at=past_due(tenant), job_type="Leak"))
    ids = session.scalars(select(Followup.id).order_by(Followup.id)).all()
    assert [send_followup(i)["outcome"] for i in ids] == ["sent", "sent"]


def test_agent_mode_without_an_llm_falls_back_to_the_link_and_says_why(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.followup_mode = "agent"
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    followup = _followup(session)
    assert followup.mode == "agent"
    assert send_followup(followup.id)["outcome"] == "sent"
    followup = _followup(session)
    assert "fell back to the link" in followup.detail
    assert "/l/" in _outbound(session)[0].body


def test_link_mode_uses_the_prefilled_scheduler_url_without_a_session_url(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.scheduler_url_template = "https://book.example.com/new?name={name}&phone={phone}&zip={zip}&job={job_type}"
    daytime_contact(session, tenant, name="José & Ana Núñez")
    post_event(client, tenant, event(occurred_at=past_due(tenant), job_type="Drain & sewer"))
    send_followup(_followup(session).id)
    link = session.scalars(select(TrackedLink)).one()
    assert link.target_url == ("https://book.example.com/new?name=Jos%C3%A9%20%26%20Ana%20N%C3%BA%C3%B1ez"
                               "&phone=%2B14155550134&zip=94110&job=Drain%20%26%20sewer")


def test_no_booking_url_fails_the_followup_with_the_reason(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.scheduler_url_template = None
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    assert send_followup(_followup(session).id)["outcome"] == "failed"
    followup = _followup(session)
    assert followup.status == "failed" and "no booking link" in followup.detail and _outbound(session) == []


def test_a_broken_account_template_falls_back_to_the_default_text(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.followup_template = "{{ link.__class__.__mro__ }} {{ business_name }}"
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    assert send_followup(_followup(session).id)["outcome"] == "sent"
    followup = _followup(session)
    assert "unsafe" in followup.detail and "default text" in followup.detail
    assert "object" not in _outbound(session)[0].body


def test_variant_is_assigned_by_session_and_stored_on_the_followup(client, session) -> None:
    tenant = make_tenant(session)
    session.add_all([
        FollowupVariant(account_id=tenant.account.id, name="short", mode="link", weight=1,
                        template="{{ business_name }}: finish booking {{ link }}"),
        FollowupVariant(account_id=tenant.account.id, name="never", mode="agent", weight=0),
        FollowupVariant(account_id=tenant.account.id, name="friendly", mode="link", weight=1,
                        template="Hi {{ first_name }}! {{ business_name }} here. {{ link }}"),
    ])
    daytime_contact(session, tenant)
    for i in range(6):
        post_event(client, tenant, event(id=f"e{i}", session_id=f"sess_{i}", occurred_at=past_due(tenant)))
    rows = session.scalars(select(Followup).order_by(Followup.id)).all()
    assert {r.variant for r in rows} <= {"short", "friendly"}
    from followups.variants import pick

    variants = session.scalars(select(FollowupVariant)).all()
    assert [r.variant for r in rows] == [pick(f"sess_{i}", variants).name for i in range(6)]
    send_followup(rows[0].id)
    body = _outbound(session)[0].body
    assert body.startswith("Reyes Plumbing: finish") if rows[0].variant == "short" else body.startswith("Hi Dana!")


def test_csr_texting_the_thread_before_due_cancels_the_followup(client, session) -> None:
    tenant = make_tenant(session)
    contact = daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    followup = _followup(session)
    session.add(Message(account_id=tenant.account.id, thread_id=followup.thread_id, contact_id=contact.id,
                        direction="outbound", sender="csr", body="Hi Dana, saw you were booking", status="sent",
                        created_at=utcnow()))
    session.commit()
    assert send_followup(followup.id)["outcome"] == "cancelled"
    assert _followup(session).cancelled_by == "csr_replied"
    assert session.scalar(select(func.count()).select_from(TrackedLink)) == 0


def test_followup_goes_out_from_the_number_the_contact_texted_before(client, session) -> None:
    from inbox.accounts import add_number

    tenant = make_tenant(session)
    other = add_number(session, tenant.account.id, "+14155550101", transactional=True, mps=10)
    contact = daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    followup = _followup(session)
    # An old conversation with the second number, before this booking session.
    session.add(Message(account_id=tenant.account.id, thread_id=followup.thread_id, contact_id=contact.id,
                        direction="inbound", sender="customer", body="thanks!", status="received",
                        to_number=other.phone, created_at=followup.created_at - timedelta(days=3)))
    session.commit()
    assert send_followup(followup.id)["outcome"] == "sent"
    assert _outbound(session)[0].from_number == "+14155550101"


def test_followup_on_a_resolved_thread_opens_a_new_one(client, session) -> None:
    from inbox.models import Thread

    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    followup = _followup(session)
    resolved_id = followup.thread_id
    session.get(Thread, resolved_id).status = "resolved"
    session.commit()
    assert send_followup(followup.id)["outcome"] == "sent"
    message = _outbound(session)[0]
    assert message.thread_id != resolved_id
    assert _followup(session).thread_id == message.thread_id
