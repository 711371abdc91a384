"""One serializer per model: the JSON the API answers and realtime events carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox.models import Contact, Message, Note, Thread
from inbox.phones import display


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_json(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "phone": contact.phone, "name": contact.name, "display_phone": display(contact.phone)}


def thread_json(thread: Thread, contact: Contact) -> dict[str, Any]:
    return {
        "id": thread.id,
        "contact": contact_json(contact),
        "status": thread.status,
        "owner": thread.owner,
        "assignee_id": thread.assignee_id,
        "escalated": thread.escalated,
        "opted_out": thread.opted_out,
        "unread_count": thread.unread_count,
        "last_message_at": iso(thread.last_message_at),
        # Only while snoozed: a text from the customer reopens the thread and leaves the old value behind.
        "snoozed_until": iso(thread.snoozed_until) if thread.status == "snoozed" else None,
        # Fixed width, so that pages order two states of a thread by comparing the strings.
        "updated_at": thread.updated_at.isoformat(timespec="microseconds") if thread.updated_at else None,
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "thread_id": message.thread_id,
        "direction": message.direction,
        "sender": message.sender,
        "sender_user_id": message.sender_user_id,
        "body": message.body,
        "status": message.status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "decision": message.decision,
        "block_reason": message.block_reason,
        "block_detail": message.block_detail,
        "attachments": message.attachments or [],
        "created_at": iso(message.created_at),
    }


def note_json(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "thread_id": note.thread_id,
        "author_kind": note.author_kind,
        "author_id": note.author_id,
        "body": note.body,
        "created_at": iso(note.created_at),
    }
