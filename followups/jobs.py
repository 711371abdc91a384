"""RQ jobs of follow-ups: the sweep that sends the due ones (re-checking everything at send time)
and the reconciler.

Each follow-up is read again when it is sent: fifteen minutes is long enough for the customer to
have replied, opted out or booked alone.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bookings.models import BookingSession
from core import hooks
from core.db import session_scope, utcnow
from core.queue import get_redis
from core.settings import get_settings
from followups import links, scheduling, templates
from followups.facts import SweepFacts, load
from followups.models import Followup
from followups.service import cancel, followup_json
from inbox import events, pacing, sending
from inbox.contacts import thread_for
from inbox.delivery import Claimed, claim_for_sending, send_claimed
from inbox.models import Account, Contact, Message, SendingNumber, Thread

log = logging.getLogger(__name__)
CATEGORY = "transactional"  # the customer asked for this job by starting to book it


def _parse_now(now: datetime | str | None) -> datetime:
    if isinstance(now, str):
        return datetime.fromisoformat(now)
    return now or utcnow()


def _block(session: Session, followup: Followup, reason: str, detail: str | None) -> dict[str, object]:
    followup.status, followup.block_reason, followup.detail = "blocked", reason, detail
    events.emit(session, followup.account_id, events.FOLLOWUP_UPDATED, followup_json(followup),
                thread_id=followup.thread_id)
    return {"followup": followup.id, "outcome": "blocked", "reason": reason}


def _stopped(session: Session, followup: Followup, booking: BookingSession | None,
             facts: SweepFacts) -> dict[str, object] | None:
    """Cancel the follow-up if the customer booked alone or a conversation started since."""
    if booking is not None and booking.status == "completed":
        cancel(session, followup, "session_completed")
        return {"followup": followup.id, "outcome": "cancelled", "reason": "session_completed"}
    started = facts.conversation_started(followup)
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
    """RQ job, the sweep: lease a batch of due follow-ups and send them. A full batch first puts the
    next sweep on RQ, so another worker takes the following batch meanwhile; rows this run did not
    get to (it failed) go back for the retry."""
    with session_scope() as session:
        ids = scheduling.lease_due(session, utcnow())
    if len(ids) == scheduling.BATCH:
        try:
            scheduling.enqueue_next_sweep(ids[-1])
        except (RedisError, OSError):  # this batch still goes; the reconciler puts the next sweep on RQ
            log.warning("could not put the next follow-up sweep on RQ; the reconciler will")
    try:
        results = send_followups(ids) if ids else []
    except BaseException:
        _give_back(ids)  # only rows still scheduled go back
        raise
    return {"leased": len(ids), **Counter(str(r["outcome"]) for r in results)}


def _give_back(followup_ids: list[int]) -> None:
    try:
        with session_scope() as session:
            scheduling.release(session, followup_ids)
    except Exception:  # the database is away too: the leases end on their own
        log.warning("could not release %d follow-up leases; they end in %d s", len(followup_ids),
                    scheduling.LEASE_SECONDS)


def send_followup(followup_id: int, now: datetime | str | None = None) -> dict[str, object]:
    """Send one follow-up if it is still due and allowed (a batch of one); a second run is a no-op."""
    return send_followups([followup_id], now)[0]


def send_followups(followup_ids: list[int], now: datetime | str | None = None) -> list[dict[str, object]]:
    """Decide and compose every follow-up of the batch in one transaction, which reads what the send
    gate needs for all of them at once, asks the gate once per text and claims each text whose number's
    turn is near; then hand those to the provider one by one (a later turn goes to a paced delivery
    job). A batch that fails is decided again one follow-up at a time, so one bad row holds back no
    other. The results, in the order of `followup_ids`."""
    clock = _parse_now(now)
    results: list[dict[str, object]] = []
    try:
        try:
            results = _decide(followup_ids, clock)
        except Exception:
            if len(followup_ids) == 1:
                raise
            log.exception("a batch of %d follow-ups failed; deciding them one at a time", len(followup_ids))
            for followup_id in followup_ids:
                results += _decide([followup_id], clock)
    finally:
        _send(results)
    return results


def _decide(followup_ids: list[int], at: datetime) -> list[dict[str, object]]:
    """The batch's transaction: the gate for each follow-up, one claim for all it let through, their
    texts staged and written in one flush, then announced and their numbers' turns taken."""
    with session_scope() as session:
        facts = load(session, followup_ids, at, CATEGORY)
        results: dict[int, dict[str, object]] = {}
        going: list[_Going] = []
        for followup_id in followup_ids:
            outcome = _gate(session, facts, followup_id, at)
            if isinstance(outcome, _Going):
                going.append(outcome)
            else:
                results[followup_id] = outcome
        claimed = _claim(session, [g.followup for g in going], at)
        for g in going:
            if g.followup.id not in claimed:  # cancelled by another transaction since the batch was read
                results[g.followup.id] = {"followup": g.followup.id, "outcome": "skipped"}
            elif (failed := _compose(session, facts, g, at)) is not None:
                results[g.followup.id] = failed
        session.flush()  # the batch's texts and links, in one statement per table
        for g in going:
            if g.message is not None:
                results[g.followup.id] = _announce(session, facts, g)
        return [results[followup_id] for followup_id in followup_ids]


def _send(results: list[dict[str, object]]) -> None:
    """Hand the claimed texts to the provider in order (texts after a failing one go back to RQ's delivery)."""
    send_claimed([c for c in (r.pop("claimed", None) for r in results) if isinstance(c, Claimed)])
    for result in results:
        log.info("follow-up job %s", result)


@dataclass
class _Going:
    """A follow-up the gate let through, on its way to becoming a text."""

    followup: Followup
    decision: sending.Decision
    slot: pacing.Slot | None  # its number's turn, reserved
    thread: Thread | None = None
    message: Message | None = None
    staged: bool = False  # its text was staged by this sweep (not written by the agent)


def _gate(session: Session, facts: SweepFacts, followup_id: int, at: datetime) -> dict[str, object] | _Going:
    """What becomes of one follow-up: an outcome (skipped, not due, cancelled, deferred, blocked), or on
    its way to a text."""
    followup = facts.followups.get(followup_id)
    if followup is None or followup.status != "scheduled":
        return {"followup": followup_id, "outcome": "skipped"}
    if followup.due_at > at + scheduling.DUE_EARLY:  # a due time that moved after the row was taken
        scheduling.enqueue_sweep_on_commit(session, followup.due_at)
        return {"followup": followup_id, "outcome": "not_due"}
    stopped = _stopped(session, followup, facts.bookings.get(followup.session_id), facts)
    if stopped is not None:
        return stopped
    account, contact = facts.accounts[followup.account_id], facts.contacts[followup.contact_id]
    numbers, last = facts.numbers.get(account.id, []), facts.last_inbound.get(contact.id, sending.LastInbound())
    number = sending.pick_sender(numbers, last.to_number)
    decision = sending.decide(contact, account, CATEGORY, at, last=last, number=number)
    if not decision.allowed and decision.reasons == [sending.QUIET_HOURS] and decision.retry_at is not None:
        return _defer(session, followup, decision.retry_at)
    if not decision.allowed:
        return _block(session, followup, decision.reasons[0], decision.detail)
    if facts.recently_sent(followup, account.followup_per_contact_hours, at):
        return _block(session, followup, sending.DUPLICATE,
                      f"a follow-up already went to this contact in the last {account.followup_per_contact_hours} h")
    facts.sent[contact.id].append((followup.id, at))  # a second session of the same contact in this batch waits
    slot = _reserve(numbers, number, sticky=number is not None and number.phone == last.to_number,
                    not_before=followup.due_at)
    if slot is not None and slot.number is not number:
        decision = replace(decision, from_number=slot.number.phone,
                           messaging_service_sid=slot.number.messaging_service_sid)
    return _Going(followup, decision, slot)


def _reserve(numbers: list[SendingNumber], number: SendingNumber | None, sticky: bool,
             not_before: datetime) -> pacing.Slot | None:
    """The text's turn, taken now so that the batch's texts spread over the account's numbers in due
    order (a contact who texted one of them hears from that one), and never before the follow-up is
    due (a sweep may start up to DUE_EARLY before); None if Redis is away."""
    try:
        return pacing.reserve(get_redis(), [number] if sticky and number is not None else numbers,
                              now=max(time.time(), not_before.timestamp()))
    except RedisError:
        return None


def _claim(session: Session, followups: list[Followup], at: datetime) -> set[int]:
    """Move the rows out of `scheduled` in one statement; the ids this run got (not those another
    transaction cancelled meanwhile)."""
    if not followups:
        return set()
    claimed = set(session.scalars(
        update(Followup).where(Followup.id.in_([f.id for f in followups]), Followup.status == "scheduled")
        .values(status="sent", sent_at=at, updated_at=at).returning(Followup.id)
        .execution_options(synchronize_session=False)))
    # The rows hold these now; the objects learn them without reading them back.
    for followup in (f for f in followups if f.id in claimed):
        for name, value in (("status", "sent"), ("sent_at", at), ("updated_at", at)):
            set_committed_value(followup, name, value)
    return claimed


def _compose(session: Session, facts: SweepFacts, going: _Going, at: datetime) -> dict[str, object] | None:
    """The agent's opening text, or the link text staged for the batch's flush; an outcome if neither."""
    followup = going.followup
    account, contact = facts.accounts[followup.account_id], facts.contacts[followup.contact_id]
    thread = going.thread = _thread(session, followup, contact, facts)
    if followup.mode == "agent":
        going.message = _agent_opening(session, followup, thread, going.decision)
    if going.message is not None:
        return None
    body = _link_text(session, followup, account, contact, facts.bookings.get(followup.session_id), facts)
    if body is None:
        followup.status = "failed"
        followup.sent_at = None
        events.emit(session, account.id, events.FOLLOWUP_UPDATED, followup_json(followup), thread_id=thread.id)
        return {"followup": followup.id, "outcome": "failed", "detail": followup.detail}
    going.message = sending.stage_text(session, thread, contact, body, going.decision, sender="system",
                                       category=CATEGORY, now=at)
    going.staged = True
    return None


def _announce(session: Session, facts: SweepFacts, going: _Going) -> dict[str, object]:
    """Once written: the text's events, the follow-up's, and its number's turn (a claimed text)."""
    followup, message, thread = going.followup, going.message, going.thread
    assert message is not None and thread is not None
    if going.staged:
        sending.announce_text(session, message, thread, facts.contacts[followup.contact_id], deliver=False)
    followup.sent_message_id = message.id
    if message.decision == "blocked":
        followup.sent_at = None
        return _block(session, followup, message.block_reason or "blocked", message.block_detail)
    events.emit(session, followup.account_id, events.FOLLOWUP_UPDATED, followup_json(followup), thread_id=thread.id)
    hooks.announce(session, hooks.FOLLOWUP_SENT, followup=followup, message=message)
    claimed = claim_for_sending(session, message, going.slot) if going.staged else None
    return {"followup": followup.id, "outcome": "sent", "message": message.id, "claimed": claimed}


def _thread(session: Session, followup: Followup, contact: Contact, facts: SweepFacts) -> Thread:
    thread = facts.threads.get(followup.thread_id) if followup.thread_id else None
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
               booking: BookingSession | None, facts: SweepFacts) -> str | None:
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
    template = facts.templates.get((account.id, followup.variant or "")) or account.followup_template
    first_name, url = templates.first_name_of(contact.name), links.link_url(link.code)
    try:
        return templates.render(template, business_name=account.name, first_name=first_name, job_type=job_type,
                                link=url)
    except templates.TemplateInvalid as exc:
        followup.detail = f"{exc}; sent the default text instead"
        return templates.render(None, business_name=account.name, first_name=first_name, job_type=job_type,
                                link=url)


def reconcile_followups() -> dict[str, int]:
    """Periodic (RQ Repeat): put back on RQ the sweep of every due second that has lost its job."""
    try:
        with session_scope() as session:
            return scheduling.reconcile(session)
    except Exception:  # the next run retries; a failure must not end the repeat chain
        log.exception("follow-up reconciler failed")
        return {"checked": 0, "enqueued": 0, "errors": 1}
