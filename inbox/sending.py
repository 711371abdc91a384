"""The send gate: every outbound text (CSR reply, agent reply, follow-up, confirmation) goes
through `send_text`, which decides *send* or *blocked, because …* and stores that on the message.

Rules, in the order their reasons are listed:
- `opted_out`: the contact texted STOP (or the carrier said so, Twilio 21610).
- `invalid_number`: the number does not parse, or the provider rejected it (21211; stored as
  `contact.line_type = "invalid"`).
- `landline`: the line type is known to be a landline.
- `no_consent`: marketing without a confirmed written opt-in (double opt-in, inbox.consent).
- `sender_not_registered`: none of the account's numbers is registered for the category.
- `quiet_hours`: outside 8:00–21:00 in the recipient's time zone. It does not apply to a reply in
  a conversation the customer started in the last 24 hours (they are waiting for it), except for
  marketing, which always respects quiet hours. Automated texts (system, agent) are deferred to the
  recipient's 8:00 (`status=queued`, `decision=deferred`, `retry_at`); a CSR's text is blocked so
  the person who typed it decides.
- `duplicate`: the same body already went to the same contact in the last few minutes.
Compliance replies (opt-out confirmation, HELP answer) skip opted_out, no_consent and quiet_hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.outbox import enqueue_after_commit
from core.queue import enqueue, get_redis
from inbox import events, pacing
from inbox.models import Account, Contact, Message, SendingNumber, Thread
from inbox.phones import InvalidPhone, timezone_of, to_e164
from inbox.segments import count_segments
from inbox.serializers import message_json

# Block reason codes (docs/api.md).
OPTED_OUT = "opted_out"
NO_CONSENT = "no_consent"
INVALID_NUMBER = "invalid_number"
LANDLINE = "landline"
SENDER_NOT_REGISTERED = "sender_not_registered"
QUIET_HOURS = "quiet_hours"
DUPLICATE = "duplicate"
# What the inbox tells a rep when a text was not sent (the page gets them from here).
BLOCK_REASONS = {
    OPTED_OUT: "the customer opted out of texts",
    NO_CONSENT: "no consent on record for this kind of text",
    INVALID_NUMBER: "the number cannot receive texts",
    LANDLINE: "the number is a landline",
    SENDER_NOT_REGISTERED: "our number is not registered for this kind of text",
    QUIET_HOURS: "quiet hours where the customer lives",
    DUPLICATE: "the same text was just sent",
}

CATEGORIES = ("transactional", "marketing")
SENDERS = ("csr", "agent", "system")
QUIET_START = time(21, 0)  # no texts from 21:00 …
QUIET_END = time(8, 0)  # … until 8:00, recipient's local time
CONVERSATION_WINDOW = timedelta(hours=24)
DUPLICATE_WINDOW = timedelta(minutes=5)
STOP_FOOTER = "Reply STOP to opt out"
# `message.decision` values.
SEND = "send"
BLOCKED = "blocked"
DEFERRED = "deferred"


@dataclass
class Decision:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    detail: str | None = None
    # For quiet hours: when the text may go out instead (the recipient's 8:00 local).
    retry_at: datetime | None = None
    # The account number the text would go out from (None: none registered for the category).
    from_number: str | None = None
    messaging_service_sid: str | None = None

    @property
    def block_reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None


def recipient_timezone(contact: Contact, account: Account) -> str:
    """The contact's stored zone, else the number's zone, else the account's."""
    if contact.timezone:
        try:
            ZoneInfo(contact.timezone)
            return contact.timezone
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a bad stored zone must not stop texting; the number still tells us
    return timezone_of(contact.phone, account.timezone)


def next_allowed_time(now: datetime, zone: str) -> datetime | None:
    """None if `now` is inside 8:00–21:00 in `zone`; otherwise the next 8:00 there (in UTC)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=tz).astimezone(now.tzinfo)


def pick_sender(numbers: list[SendingNumber], last_to: str | None) -> SendingNumber | None:
    """Among the account's numbers registered for the text's category: the one the contact last texted
    (`last_to`), if it qualifies (they know it); otherwise the one whose pacing slot opens first, so a
    burst spreads over them."""
    if not numbers:
        return None
    sticky = next((n for n in numbers if n.phone == last_to), None)
    if sticky is not None or len(numbers) == 1:
        return sticky or numbers[0]
    try:
        return pacing.earliest(get_redis(), numbers)
    except RedisError:  # pacing's state is away; any registered number will do, delivery paces it
        return numbers[0]


@dataclass(frozen=True)
class LastInbound:
    """The number a contact last texted and when (both None if they never did): one read for two rules."""

    to_number: str | None = None
    at: datetime | None = None


def last_inbound(session: Session, contact_ids: list[int]) -> dict[int, LastInbound]:
    """Each contact's latest inbound text, for many contacts in one statement (absent: never texted)."""
    latest = (select(func.max(Message.id)).where(Message.contact_id.in_(contact_ids), Message.direction == "inbound")
              .group_by(Message.contact_id))
    rows = session.execute(select(Message.contact_id, Message.to_number, Message.created_at)
                           .where(Message.id.in_(latest.scalar_subquery())))
    return {row.contact_id: LastInbound(row.to_number, row.created_at) for row in rows}


def _is_duplicate(session: Session, contact: Contact, body: str, now: datetime) -> bool:
    return (
        session.scalar(
            select(Message.id)
            .where(
                Message.contact_id == contact.id,
                Message.direction == "outbound",
                Message.body == body,
                Message.decision.in_((SEND, DEFERRED)),
                Message.created_at >= now - DUPLICATE_WINDOW,
            )
            .limit(1)
        )
        is not None
    )


def check_sendability(
    session: Session,
    contact: Contact,
    category: str = "transactional",
    now: datetime | None = None,
    *,
    compliance_reply: bool = False,
    body: str | None = None,
    quiet_hours: bool = True,
) -> Decision:
    """Whether a text of `category` may go to `contact` now, and every reason it may not: reads what
    `decide` needs and asks it.

    `compliance_reply=True` is for the opt-out confirmation and the HELP answer, which carrier
    rules allow after an opt-out and at any hour. `body`, when given, enables the duplicate check;
    `quiet_hours=False` skips the clock (a retry of a text that was allowed when it was written).
    Whether a quiet-hours verdict defers or blocks is decided by `send_text`, from the sender.
    """
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
    now = now or utcnow()
    account = session.get(Account, contact.account_id)
    assert account is not None
    last = last_inbound(session, [contact.id]).get(contact.id, LastInbound())
    number = pick_sender(pacing.numbers_for(session, contact.account_id, category), last.to_number)
    duplicate = body is not None and _is_duplicate(session, contact, body, now)
    return decide(contact, account, category, now, last=last, number=number, duplicate=duplicate,
                  compliance_reply=compliance_reply, quiet_hours=quiet_hours)


def decide(
    contact: Contact,
    account: Account,
    category: str,
    now: datetime,
    *,
    last: LastInbound,
    number: SendingNumber | None,
    duplicate: bool = False,
    compliance_reply: bool = False,
    quiet_hours: bool = True,
) -> Decision:
    """The send gate itself, from what was read: no database, no clock of its own. A sweep of many
    follow-ups reads for all of them at once and asks it once per text."""
    reasons: list[str] = []
    details: list[str] = []
    retry_at: datetime | None = None
    if contact.opted_out and not compliance_reply:
        reasons.append(OPTED_OUT)
        details.append("the contact opted out of texts (they can text START to opt back in)")
    try:
        to_e164(contact.phone)
        number_ok = contact.line_type != "invalid"
    except InvalidPhone:
        number_ok = False
    if not number_ok:
        reasons.append(INVALID_NUMBER)
        details.append(f"{contact.phone} is not a valid mobile number")
    if contact.line_type == "landline":
        reasons.append(LANDLINE)
        details.append(f"{contact.phone} is a landline and cannot receive texts")
    if category == "marketing" and contact.marketing_opt_in != "confirmed" and not compliance_reply:
        reasons.append(NO_CONSENT)
        details.append("marketing texts need the contact's written opt-in (they have not replied YES to one)")
    if number is None:
        reasons.append(SENDER_NOT_REGISTERED)
        details.append(f"none of the account's numbers is registered for {category} texts")
    if (
        quiet_hours
        and not compliance_reply
        and (category == "marketing" or last.at is None or now - last.at > CONVERSATION_WINDOW)
    ):
        zone = recipient_timezone(contact, account)
        retry_at = next_allowed_time(now, zone)
        if retry_at is not None:
            local = now.astimezone(ZoneInfo(zone))
            reasons.append(QUIET_HOURS)
            details.append(
                f"it is {local:%H:%M} for the recipient ({zone}); texts go out 8:00–21:00 their time"
            )
    if duplicate:
        reasons.append(DUPLICATE)
        details.append(
            f"the same text went to this contact in the last {DUPLICATE_WINDOW.seconds // 60} minutes"
        )
    return Decision(
        allowed=not reasons,
        reasons=reasons,
        detail="; ".join(details) or None,
        retry_at=retry_at,
        from_number=number.phone if number else None,
        messaging_service_sid=number.messaging_service_sid if number else None,
    )


def with_footer(body: str, category: str) -> str:
    """Marketing texts end with the opt-out instruction (added once)."""
    if category != "marketing" or STOP_FOOTER.lower() in body.lower():
        return body
    return f"{body.rstrip()}\n{STOP_FOOTER}"


def segments_of(body: str) -> int:
    """Segments the text is billed as (at least one, even for an empty MMS body)."""
    return max(1, count_segments(body).segments)


def send_text(
    session: Session,
    thread: Thread,
    body: str,
    *,
    sender: str,
    category: str = "transactional",
    user_id: int | None = None,
    compliance_reply: bool = False,
    now: datetime | None = None,
    decision: Decision | None = None,
    deliver: bool = True,
) -> Message:
    """Store an outbound message with the gate's decision and, if allowed, hand it to the provider
    after commit (an RQ job). A blocked message is stored with status `blocked`, `decision`
    `blocked` and its `block_reason`; a message deferred by quiet hours is `queued` with `retry_at`
    (`decision` `deferred`). Emits `message.created` (and `thread.updated`). Never raises for a
    block: the caller reads `message.decision`.

    `decision`: the gate's verdict for this text when the caller already asked for it, so the gate
    runs once. `deliver=False`: the caller hands the text to the provider itself once it committed.
    """
    if sender not in SENDERS:
        raise ValueError(f"sender must be one of {', '.join(SENDERS)}, got {sender!r}")
    now = now or utcnow()
    contact = session.get(Contact, thread.contact_id)
    assert contact is not None
    body = with_footer(body, category)
    if decision is None:
        decision = check_sendability(session, contact, category, now, compliance_reply=compliance_reply, body=body)
    message = stage_text(session, thread, contact, body, decision, sender=sender, category=category,
                         user_id=user_id, compliance_reply=compliance_reply, now=now)
    session.flush()
    announce_text(session, message, thread, contact, deliver=deliver)
    return message


def stage_text(session: Session, thread: Thread, contact: Contact, body: str, decision: Decision, *, sender: str,
               category: str, now: datetime, user_id: int | None = None, compliance_reply: bool = False) -> Message:
    """The outbound message as `decision` has it, added to the session but not yet written: a sweep
    stages all its texts and writes them in one flush, then announces each (`announce_text`)."""
    body = with_footer(body, category)
    deferrable = decision.reasons == [QUIET_HOURS] and sender != "csr"
    if decision.allowed:
        status, verdict = "queued", SEND
    elif deferrable:
        status, verdict = "queued", DEFERRED
    else:
        status, verdict = "blocked", BLOCKED
    detail = decision.detail
    if verdict == DEFERRED and decision.retry_at is not None:
        detail = f"{detail}; held until 8:00 their time"
    message = Message(
        account_id=thread.account_id,
        thread_id=thread.id,
        contact_id=contact.id,
        direction="outbound",
        sender=sender,
        sender_user_id=user_id,
        body=body,
        category=category,
        from_number=decision.from_number,
        to_number=contact.phone,
        status=status,
        decision=verdict,
        block_reason=decision.block_reason,
        block_detail=detail,
        compliance=compliance_reply,
        segments=segments_of(body),
        retry_at=decision.retry_at if verdict == DEFERRED else None,
        created_at=now,
    )
    session.add(message)
    thread.last_message_at = now
    return message


def announce_text(session: Session, message: Message, thread: Thread, contact: Contact, *,
                  deliver: bool = True) -> None:
    """`message.created` and `thread.updated` for a written message, and its delivery job unless the
    caller delivers it itself (`deliver=False`; a deferred text always gets its job)."""
    events.emit(session, thread.account_id, events.MESSAGE_CREATED, message_json(message), thread_id=thread.id)
    events.thread_changed(session, thread, contact)
    if message.decision == DEFERRED or (message.decision == SEND and deliver):
        schedule_delivery(session, message)


# Seconds between delivery attempts after a 429 or 5xx from the provider.
DELIVERY_RETRY_INTERVALS = [10, 30, 90, 300, 900]
DELIVERY_JOB = "inbox.delivery.deliver_message"


def delivery_job_id(message_id: int, at: datetime | None = None, paced: bool = False) -> str:
    """Deterministic per attempt time, so a deferral never overwrites the job that scheduled it; a
    paced run (waiting for its number's slot) has one id of its own."""
    if paced:
        return f"deliver-message-{message_id}-paced"
    return f"deliver-message-{message_id}" + (f"-{int(at.timestamp())}" if at else "")


def enqueue_delivery(message_id: int, at: datetime | None = None, slot_at: float | None = None,
                     paced: bool = False) -> None:
    """Put the delivery job on RQ (at `at`, holding a pacing slot `slot_at` if one was reserved)."""
    args = (message_id,) if slot_at is None else (message_id, slot_at)
    enqueue(DELIVERY_JOB, *args, job_id=delivery_job_id(message_id, at, paced), at=at,
            retry=DELIVERY_RETRY_INTERVALS)


def schedule_delivery(session: Session, message: Message) -> None:
    """The send job, in this transaction's outbox (RQ gets it after the commit); a deferred text at its
    `retry_at`."""
    if message.id is None:
        session.flush()
    enqueue_after_commit(session, DELIVERY_JOB, message.id, job_id=delivery_job_id(message.id, message.retry_at),
                         at=message.retry_at, retry=DELIVERY_RETRY_INTERVALS)
