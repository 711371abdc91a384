"""RQ jobs of follow-ups: sending one (re-checking everything at send time) and the reconciler.

Job functions take ids and re-read the row: fifteen minutes is long enough for the customer to
have replied, opted out or booked alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import session_scope, utcnow
from core.queue import get_redis
from followups import links, templates
from followups.models import BookingSession, Followup
from followups.scheduling import enqueue_send_on_commit, reconcile
from followups.service import cancel, followup_json, recently_sent
from inbox import events, pacing, sending
from inbox.models import Account, Contact, Message, SendingNumber, Thread

log = logging.getLogger(__name__)
CATEGORY = "transactional"  # the customer asked for this job by starting to book it
QUIET_HOURS_END = time(8, 0)


def _parse_now(now: datetime | str | None) -> datetime:
    if isinstance(now, str):
        return datetime.fromisoformat(now)
    return now or utcnow()


def next_morning(contact: Contact, account: Account, now: datetime) -> datetime:
    """8:00 in the recipient's time zone after `now` (the send gate's retry time when it gives none)."""
    zone = ZoneInfo(contact.timezone or account.timezone)
    local = now.astimezone(zone)
    morning = datetime.combine(local.date(), QUIET_HOURS_END, zone)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1), QUIET_HOURS_END, zone)
    return morning.astimezone(UTC)


def _conversation_started(session: Session, followup: Followup) -> str | None:
    """'inbound_reply' or 'csr_replied' if someone already texted on the thread since the abandonment."""
    if followup.thread_id is None:
        return None
    rows = session.execute(select(Message.direction, Message.sender).where(
        Message.thread_id == followup.thread_id, Message.created_at > followup.created_at)).all()
    if any(direction == "inbound" for direction, _ in rows):
        return "inbound_reply"
    if any(direction == "outbound" and sender in ("csr", "agent") for direction, sender in rows):
        return "csr_replied"
    return None


def _block(session: Session, followup: Followup, reason: str, detail: str | None) -> dict[str, object]:
    followup.status, followup.block_reason, followup.detail = "blocked", reason, detail
    events.emit(session, followup.account_id, events.FOLLOWUP_UPDATED, followup_json(followup),
                thread_id=followup.thread_id)
    return {"followup": followup.id, "outcome": "blocked", "reason": reason}


def _precheck(session: Session, followup: Followup, now: datetime) -> dict[str, object] | None:
    """Everything that can stop or defer the follow-up before it is sent; None = go."""
    booking = session.get(BookingSession, followup.session_id)
    if booking is not None and booking.status == "completed":
        cancel(session, followup, "session_completed")
        return {"followup": followup.id, "outcome": "cancelled", "reason": "session_completed"}
    started = _conversation_started(session, followup)
    if started:
        cancel(session, followup, started)
        return {"followup": followup.id, "outcome": "cancelled", "reason": started}
    contact = session.get(Contact, followup.contact_id)
    account = session.get(Account, followup.account_id)
    assert contact is not None and account is not None
    decision = sending.check_sendability(session, contact, CATEGORY, now=now)
    if not decision.allowed and decision.reasons == [sending.QUIET_HOURS]:
        # Deferred, not dropped: a new job at the recipient's 8:00.
        followup.due_at = decision.retry_at or next_morning(contact, account, now)
        followup.detail = "deferred by quiet hours"
        enqueue_send_on_commit(session, followup.id, followup.due_at)
        events.emit(session, followup.account_id, events.FOLLOWUP_UPDATED, followup_json(followup),
                    thread_id=followup.thread_id)
        return {"followup": followup.id, "outcome": "deferred", "until": followup.due_at.isoformat()}
    if not decision.allowed:
        return _block(session, followup, decision.reasons[0], decision.detail)
    if recently_sent(session, followup, account.followup_per_contact_hours, now):
        return _block(session, followup, sending.DUPLICATE,
                      f"a follow-up already went to this contact in the last {account.followup_per_contact_hours} h")
    return None


def send_followup(followup_id: int, now: datetime | str | None = None) -> dict[str, object]:
    """Send one follow-up if it is still due and allowed; a second run of the same follow-up is a no-op."""
    clock = _parse_now(now)
    with session_scope() as session:
        followup = session.get(Followup, followup_id)
        if followup is None or followup.status != "scheduled":
            return {"followup": followup_id, "outcome": "skipped"}
        if followup.due_at > clock + timedelta(seconds=1):  # an old job for a due time that moved
            enqueue_send_on_commit(session, followup.id, followup.due_at)
            return {"followup": followup_id, "outcome": "not_due"}
        stopped = _precheck(session, followup, clock)
        if stopped is not None:
            return stopped
        numbers = _sending_numbers(session, followup)
    # The delivery job paces each number; here we only pick the one that frees up first.
    number = pacing.earliest(get_redis(), numbers)
    with session_scope() as session:
        result = _send(session, followup_id, number, now)
    log.info("follow-up job %s", result)
    return result


def _sending_numbers(session: Session, followup: Followup) -> list[SendingNumber]:
    """The numbers pacing may use: a contact who texted one of them before hears from that one again."""
    numbers = pacing.numbers_for(session, followup.account_id, CATEGORY)
    last_to = session.scalar(select(Message.to_number).where(
        Message.contact_id == followup.contact_id, Message.direction == "inbound").order_by(Message.id.desc()).limit(1))
    sticky = [n for n in numbers if n.phone == last_to]
    return sticky or numbers


def _claim(session: Session, followup_id: int, at: datetime) -> Followup | None:
    """Move the row out of `scheduled` in this transaction; None if another run got there first."""
    claimed = session.execute(update(Followup).where(Followup.id == followup_id, Followup.status == "scheduled")
                              .values(status="sent", sent_at=at, updated_at=at)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    followup = session.get(Followup, followup_id, populate_existing=True)
    assert followup is not None
    return followup


def _send(session: Session, followup_id: int, number: SendingNumber | None,
          now: datetime | str | None) -> dict[str, object]:
    at = _parse_now(now)
    followup = _claim(session, followup_id, at)
    if followup is None:
        return {"followup": followup_id, "outcome": "skipped"}
    account = session.get(Account, followup.account_id)
    # Lock the contact so two sessions' follow-ups cannot both pass the per-contact limit.
    contact = session.scalars(select(Contact).where(Contact.id == followup.contact_id).with_for_update()).one()
    assert account is not None
    if recently_sent(session, followup, account.followup_per_contact_hours, at):
        return _block(session, followup, sending.DUPLICATE,
                      f"a follow-up already went to this contact in the last {account.followup_per_contact_hours} h")
    thread = _thread(session, followup, contact)
    message = _agent_opening(session, followup, thread) if followup.mode == "agent" else None
    if message is None:
        body = _link_text(session, followup, account, contact)
        if body is None:
            followup.status = "failed"
            followup.sent_at = None
            events.emit(session, account.id, events.FOLLOWUP_UPDATED, followup_json(followup), thread_id=thread.id)
            return {"followup": followup.id, "outcome": "failed", "detail": followup.detail}
        message = sending.send_text(session, thread, body, sender="system", category=CATEGORY, now=at)
    followup.sent_message_id = message.id
    if message.decision == "blocked":
        followup.sent_at = None
        return _block(session, followup, message.block_reason or "blocked", message.block_detail)
    if number is not None:
        message.from_number = number.phone  # the account's number that frees up first
    events.emit(session, account.id, events.FOLLOWUP_UPDATED, followup_json(followup), thread_id=thread.id)
    return {"followup": followup.id, "outcome": "sent", "message": message.id}


def _thread(session: Session, followup: Followup, contact: Contact) -> Thread:
    thread = session.get(Thread, followup.thread_id) if followup.thread_id else None
    if thread is None or thread.status == "resolved":  # a closed conversation stays closed
        from followups.sessions import thread_for

        thread = thread_for(session, followup.account_id, contact)
        followup.thread_id = thread.id
    return thread


def _agent_opening(session: Session, followup: Followup, thread: Thread) -> Message | None:
    """The agent's opening text, or None after recording why the follow-up falls back to the link."""
    from agent import service as agent

    if not agent.agent_available():
        followup.detail = "agent mode fell back to the link: no LLM is configured"
        return None
    message = agent.start_followup_conversation(session, thread, followup.id)
    if message is None:
        followup.detail = "agent mode fell back to the link: the agent did not start the conversation"
    return message


def _link_text(session: Session, followup: Followup, account: Account, contact: Contact) -> str | None:
    """The link-mode text with a new tracked link; None (and the reason on the row) without a target."""
    booking = session.get(BookingSession, followup.session_id)
    job_type = booking.job_type if booking else None
    if booking is not None and booking.url:
        target = booking.url
    elif account.scheduler_url_template:
        target = links.prefilled_url(account.scheduler_url_template, name=contact.name, phone=contact.phone,
                                     zip=contact.zip, job_type=job_type)
    else:
        followup.detail = "no booking link: the event had no session URL and the account has no scheduler URL"
        return None
    link = links.create_link(session, account.id, followup.id, target)
    template = _template_for(session, followup, account)
    first_name, url = templates.first_name_of(contact.name), links.link_url(link.code)
    try:
        return templates.render(template, business_name=account.name, first_name=first_name, job_type=job_type,
                                link=url)
    except templates.TemplateInvalid as exc:
        followup.detail = f"{exc}; sent the default text instead"
        return templates.render(None, business_name=account.name, first_name=first_name, job_type=job_type,
                                link=url)


def _template_for(session: Session, followup: Followup, account: Account) -> str | None:
    from followups.models import FollowupVariant

    if followup.variant:
        variant = session.scalar(select(FollowupVariant).where(
            FollowupVariant.account_id == account.id, FollowupVariant.name == followup.variant))
        if variant is not None and variant.template:
            return variant.template
    return account.followup_template


def reconcile_followups() -> dict[str, int]:
    """Periodic (RQ Repeat): enqueue scheduled follow-ups whose job is missing."""
    try:
        with session_scope() as session:
            return reconcile(session)
    except Exception:  # the next run retries; a failure must not end the repeat chain
        log.exception("follow-up reconciler failed")
        return {"checked": 0, "enqueued": 0, "errors": 1}
