"""The inbox's tables: accounts, numbers, people, threads, messages, notes, consent, events.

Every row that belongs to an account carries `account_id`, and every query filters by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, UTCDateTime, utcnow

# Per weekday, a list of [open, close] ranges in the account's time zone (a lunch break is two ranges).
DEFAULT_BUSINESS_HOURS: dict[str, list[list[str]]] = {
    day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
} | {"sat": [["09:00", "14:00"]], "sun": []}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=lambda: dict(DEFAULT_BUSINESS_HOURS))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    services: Mapped[str | None] = mapped_column(Text)
    scheduler_url_template: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str] = mapped_column(String(128))
    followup_mode: Mapped[str] = mapped_column(String(16), default="link")
    followup_delay_seconds: Mapped[int | None] = mapped_column(Integer)
    followup_template: Mapped[str | None] = mapped_column(Text)
    followup_per_contact_hours: Mapped[int] = mapped_column(Integer, default=24)
    # Twilio Advanced Opt-Out answers STOP and HELP itself; then textdesk must not answer too.
    provider_handles_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    messaging_service_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    technicians: Mapped[int] = mapped_column(Integer, default=2)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=120)
    # The secret in the iCalendar feed URL; None until an admin first asks for the feed.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SendingNumber(Base):
    __tablename__ = "sending_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    mps: Mapped[int] = mapped_column(Integer, default=1)
    messaging_service_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="csr")
    # A deactivated user keeps their name on old notes and messages but cannot log in or use a token.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    zip: Mapped[str | None] = mapped_column(String(20))
    line_type: Mapped[str | None] = mapped_column(String(20))  # mobile, landline, voip, unknown
    timezone: Mapped[str | None] = mapped_column(String(64))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_opt_in: Mapped[str | None] = mapped_column(String(16))  # None, "pending", "confirmed"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_account_activity", "account_id", "last_message_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, pending, snoozed, resolved
    owner: Mapped[str] = mapped_column(String(8), default="none")  # agent, csr, none
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    agent_messages: Mapped[int] = mapped_column(Integer, default=0)
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    # With status "snoozed": when it comes back on its own (None: only when the customer texts).
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound, outbound
    sender: Mapped[str] = mapped_column(String(8))  # customer, csr, agent, system
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="transactional")  # transactional, marketing
    from_number: Mapped[str | None] = mapped_column(String(20))
    to_number: Mapped[str | None] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(8))  # send, blocked
    block_reason: Mapped[str | None] = mapped_column(String(32))
    block_detail: Mapped[str | None] = mapped_column(Text)
    # An opt-out confirmation or HELP answer: allowed after an opt-out and at any hour.
    compliance: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a worker took the text to hand it to the provider (`sending`); recovery looks for old claims.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    author_kind: Mapped[str] = mapped_column(String(8), default="csr")  # csr, agent, system
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEvent(Base):
    """The consent ledger. Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(16))  # all, transactional, marketing
    action: Mapped[str] = mapped_column(String(20))  # opt_in, opt_out, help, opt_in_requested
    source: Mapped[str] = mapped_column(String(32))  # keyword, plain_language, provider, csr, web_form, scheduler
    raw_text: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """The event log: every realtime event, with a monotonic id a reconnecting browser resumes from."""

    __tablename__ = "events"
    # AUTOINCREMENT on SQLite so an id is never reused, even after the newest row is deleted.
    __table_args__ = (Index("ix_events_account_id_id", "account_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    thread_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceSetting(Base):
    """Values generated once per installation (the secret key) and shared by every process."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SavedReply(Base):
    """A canned reply a rep inserts by typing `/name`; its body is a sandboxed template."""

    __tablename__ = "saved_replies"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
