"""RQ jobs of follow-ups: the sweep that sends the due ones (re-checking everything at send time)
and the reconciler.

Each follow-up is read again when it is sent: fifteen minutes is long enough for the customer to
have replied, opted out or booked alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bookings.models import BookingSession
from core import hooks
from core.db import session_scope, utcnow
from core.settings import get_settings
from followups import links, scheduling, templates
from followups.models import Followup, FollowupVariant
from followups.service import cancel, followup_json, recently_sent
from inbox import events, sending
from inbox.contacts import thread_for
from inbox.delivery import Claimed, claim_for_sending, send_claimed
from inbox.models import Account, Contact, Message, Thread

log = logging.getLogger(__name__)
CATEGORY = "transactional"  # the customer asked for this job by starting to book it


def _parse_now(now: datetime | str | None) -> datetime:
    if isinstance(now, str):
        return datetime.fromisoformat(now)
    return now or utcnow()


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


def _stopped(session: Session, followup: Followup, booking: BookingSession | None) -> dict[str, object] | None:
    """Cancel the follow-up if the customer booked alone or a conversation started since."""
    if booking is not None and booking.status == "completed":
        cancel(session, followup, "session_completed")
        return {"followup": followup.id, "outcome": "cancelled", "reason": "session_completed"}
    started = _conversation_started(session, followup)
    if started:
        cancel(session, followup, started)
        return {"followup": followup.id, "outcome": "cancelled", "reason": started}
    return None


def _defer(session: Session, followup: Followup, until: datetime) -> dict[str, object]:
    """Quiet hours: deferred, not dropped — a new job at the recipient's 8:00."""
    followup.due_at, followup.lease_until = until, None
    followup.detail = "deferred by quiet hours"
    scheduling.enqueue_sweep_on_commit(session, followup.due_at)
    events.emit(session, followup.account_id, events.FOLLOWUP_UPDATED, followup_json(followup),
                thread_id=followup.thread_id)
    return {"followup": followup.id, "outcome": "deferred", "until": followup.due_at.isoformat()}


def send_due_followups() -> dict[str, object]:
    """RQ job, the sweep: lease a batch of due follow-ups and send each. A full batch first puts the
    next sweep on RQ, so another worker takes the following batch meanwhile; rows this run did not
    get to (it failed) go back for the retry."""
    with session_scope() as session:
        ids = scheduling.lease_due(session, utcnow())
    if len(ids) == scheduling.BATCH:
        try:
            scheduling.enqueue_next_sweep(ids[-1])
        except (RedisError, OSError):  # this batch still goes; the reconciler puts the next sweep on RQ
            log.warning("could not put the next follow-up sweep on RQ; the reconciler will")
    outcomes: Counter[str] = Counter()
    try:
        for followup_id in ids:
            outcomes[str(send_followup(followup_id)["outcome"])] += 1
    except BaseException:
        _give_back(ids[sum(outcomes.values()):])
        raise
    return {"leased": len(ids), **outcomes}


def _give_back(followup_ids: list[int]) -> None:
    try:
        with session_scope() as session:
            scheduling.release(session, followup_ids)
    except Exception:  # the database is away too: the leases end on their own
        log.warning("could not release %d follow-up leases; they end in %d s", len(followup_ids),
                    scheduling.LEASE_SECONDS)


def send_followup(followup_id: int, now: datetime | str | None = None) -> dict[str, object]:
    """Send one follow-up if it is still due and allowed, in one transaction that asks the send gate
    once and, when its number's turn is near, claims the text too; the worker then hands it to the
    provider itself (a later turn goes to a paced delivery job). A second run is a no-op."""
    clock = _parse_now(now)
    with session_scope() as session:
        result = _decide_and_send(session, followup_id, clock)
    claimed = result.pop("claimed", None)
    if isinstance(claimed, Claimed):
        send_claimed(claimed)
    log.info("follow-up job %s", result)
    return result


def _decide_and_send(session: Session, followup_id: int, at: datetime) -> dict[str, object]:
    followup = session.get(Followup, followup_id)
    if followup is None or followup.status != "scheduled":
        return {"followup": followup_id, "outcome": "skipped"}
    if followup.due_at > at + scheduling.DUE_EARLY:  # a due time that moved after the row was taken
        scheduling.enqueue_sweep_on_commit(session, followup.due_at)
        return {"followup": followup_id, "outcome": "not_due"}
    # Held for the whole transaction: the session's identity map keeps only referenced rows, and the
    # events and hooks below look the booking session up again.
    booking = session.get(BookingSession, followup.session_id)
    stopped = _stopped(session, followup, booking)
    if stopped is not None:
        return stopped
    account = session.get(Account, followup.account_id)
    assert account is not None
    # Lock the contact so two sessions' follow-ups cannot both pass the per-contact limit.
    contact = session.scalars(select(Contact).where(Contact.id == followup.contact_id).with_for_update()).one()
    decision = sending.check_sendability(session, contact, CATEGORY, now=at)
    if not decision.allowed and decision.reasons == [sending.QUIET_HOURS] and decision.retry_at is not None:
        return _defer(session, followup, decision.retry_at)
    if not decision.allowed:
        return _block(session, followup, decision.reasons[0], decision.detail)
    if recently_sent(session, followup, account.followup_per_contact_hours, at):
        return _block(session, followup, sending.DUPLICATE,
                      f"a follow-up already went to this contact in the last {account.followup_per_contact_hours} h")
    if not _claim(session, followup, at):
        return {"followup": followup_id, "outcome": "skipped"}
    thread = _thread(session, followup, contact)
    message = _agent_opening(session, followup, thread, decision) if followup.mode == "agent" else None
    deliver = message is None
    if message is None:
        body = _link_text(session, followup, account, contact, booking)
        if body is None:
            followup.status = "failed"
            followup.sent_at = None
            events.emit(session, account.id, events.FOLLOWUP_UPDATED, followup_json(followup), thread_id=thread.id)
            return {"followup": followup.id, "outcome": "failed", "detail": followup.detail}
        message = sending.send_text(session, thread, body, sender="system", category=CATEGORY, now=at,
                                    decision=decision, deliver=False)
    followup.sent_message_id = message.id
    if message.decision == "blocked":
        followup.sent_at = None
        return _block(session, followup, message.block_reason or "blocked", message.block_detail)
    events.emit(session, account.id, events.FOLLOWUP_UPDATED, followup_json(followup), thread_id=thread.id)
    hooks.announce(session, hooks.FOLLOWUP_SENT, followup=followup, message=message)
    claimed = claim_for_sending(session, message) if deliver else None
    return {"followup": followup.id, "outcome": "sent", "message": message.id, "claimed": claimed}


def _claim(session: Session, followup: Followup, at: datetime) -> bool:
    """Move the row out of `scheduled` in this transaction; False if another run got there first."""
    claimed = session.execute(update(Followup).where(Followup.id == followup.id, Followup.status == "scheduled")
                              .values(status="sent", sent_at=at, updated_at=at)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # The row holds these now; the object learns them without reading it back.
    for name, value in (("status", "sent"), ("sent_at", at), ("updated_at", at)):
        set_committed_value(followup, name, value)
    return True


def _thread(session: Session, followup: Followup, contact: Contact) -> Thread:
    thread = session.get(Thread, followup.thread_id) if followup.thread_id else None
    if thread is None or thread.status == "resolved":  # a closed conversation stays closed
        thread = thread_for(session, contact, reopen=False)
        followup.thread_id = thread.id
    return thread


def _agent_opening(session: Session, followup: Followup, thread: Thread,
                   decision: sending.Decision) -> Message | None:
    """The agent's opening text, or None after recording why the follow-up falls back to the link."""
    if not get_settings().agent_enabled:
        followup.detail = "agent mode fell back to the link: no LLM is configured"
        return None
    answers = hooks.announce(session, hooks.THREAD_TO_AGENT, thread=thread, followup_id=followup.id)
    message = next((m for m in answers if isinstance(m, Message)), None)
    if message is None:
        followup.detail = "agent mode fell back to the link: the agent did not start the conversation"
    return message


def _link_text(session: Session, followup: Followup, account: Account, contact: Contact,
               booking: BookingSession | None) -> str | None:
    """The link-mode text with a new tracked link; None (and the reason on the row) without a target."""
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
            return scheduling.reconcile(session)
    except Exception:  # the next run retries; a failure must not end the repeat chain
        log.exception("follow-up reconciler failed")
        return {"checked": 0, "enqueued": 0, "errors": 1}
