"""Agent test fixtures: an account with job types, a thread the agent owns, and a scripted LLM.

The LLM is the only thing mocked: respx answers the OpenAI SDK's HTTP requests with chat
completions in the API's documented JSON (choices[].message.tool_calls, finish_reason, usage).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from sqlalchemy.orm import Session

from agent.service import schedule_turn
from bookings.models import JobType
from core.db import utcnow
from core.settings import get_settings
from inbox.accounts import add_number, create_account
from inbox.models import Account, Contact, Message, Thread

LLM_BASE = "http://llm.test/v1"
LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def agent_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An LLM endpoint is configured; no debounce or backoff delays, so tests run in milliseconds."""
    monkeypatch.setenv("OPENAI_BASE_URL", LLM_BASE)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("TEXTDESK_AGENT_MODEL", "test-model")
    monkeypatch.setenv("TEXTDESK_AGENT_DEBOUNCE_SECONDS", "0")
    monkeypatch.setenv("TEXTDESK_AGENT_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("TEXTDESK_AGENT_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@dataclass
class Shop:
    account: Account
    contact: Contact
    thread: Thread
    heater: JobType
    drain: JobType


def make_shop(session: Session, account: Account | None = None) -> Shop:
    """Reyes Plumbing (Los Angeles, one technician, 2-hour slots) and Dana's thread, owned by the agent."""
    if account is None:
        # No users: password hashing is slow, and only the API tests need a login (make_tenant).
        account = create_account(session, "Reyes Plumbing", "America/Los_Angeles")
        add_number(session, account.id, "+14155550100", transactional=True, marketing=True, mps=10)
    account.technicians = 1
    account.services = "Water heaters, drains, leaks"
    heater = JobType(account_id=account.id, name="Water heater repair", duration_minutes=120)
    drain = JobType(account_id=account.id, name="Drain cleaning", duration_minutes=60)
    contact = Contact(account_id=account.id, phone="+14155550134", name="Dana Reyes", line_type="mobile")
    session.add_all([heater, drain, contact])
    session.flush()
    thread = Thread(account_id=account.id, contact_id=contact.id, owner="agent")
    session.add(thread)
    session.commit()
    return Shop(account, contact, thread, heater, drain)


@pytest.fixture
def shop(session: Session) -> Shop:
    return make_shop(session)


def other_contact(session: Session, shop: Shop, phone: str = "+14155550199", name: str = "Sam Other") -> Thread:
    contact = Contact(account_id=shop.account.id, phone=phone, name=name, line_type="mobile")
    session.add(contact)
    session.flush()
    thread = Thread(account_id=shop.account.id, contact_id=contact.id, owner="agent")
    session.add(thread)
    session.commit()
    return thread


def next_weekday(weekday: int, after_days: int = 2) -> date:
    """A date in Los Angeles at least `after_days` from today falling on `weekday` (0 = Monday)."""
    day = utcnow().astimezone(LA).date() + timedelta(days=after_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LA)


def customer_texts(session: Session, thread: Thread, body: str, *, schedule: bool = True) -> Message:
    """An inbound text as the inbox stores it, then (like the inbox) the agent turn is scheduled."""
    contact = session.get(Contact, thread.contact_id)
    assert contact is not None
    message = Message(account_id=thread.account_id, thread_id=thread.id, contact_id=contact.id, direction="inbound",
                      sender="customer", body=body, status="received", from_number=contact.phone,
                      to_number="+14155550100", created_at=utcnow())
    session.add(message)
    thread.last_message_at = message.created_at
    session.flush()
    if schedule:
        schedule_turn(session, message)
    session.commit()
    return message


def completion(content: str | None = None, tool_calls: list[tuple[str, Any]] | None = None,
               finish_reason: str | None = None) -> httpx.Response:
    """A chat.completions response body as the OpenAI API documents it."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for i, (name, args) in enumerate(tool_calls)]
    body = {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_763_800_000, "model": "test-model",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop")}],
        "usage": {"prompt_tokens": 420, "completion_tokens": 18, "total_tokens": 438},
    }
    return httpx.Response(200, json=body)


@dataclass
class ScriptedLLM:
    """Answers each chat.completions request with the next scripted response; records requests."""

    router: respx.MockRouter
    script: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.route = self.router.post(f"{LLM_BASE}/chat/completions")
        self.route.side_effect = self._next

    def _next(self, request: httpx.Request) -> httpx.Response:
        if not self.script:
            raise AssertionError("the agent asked the LLM more often than the script expects")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def then(self, *steps: Any) -> ScriptedLLM:
        self.script.extend(steps)
        return self

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(call.request.content) for call in self.route.calls]


@pytest.fixture
def llm(agent_on: None) -> Iterator[ScriptedLLM]:
    with respx.mock(assert_all_called=False) as router:
        yield ScriptedLLM(router)


def outbound(session: Session, thread: Thread) -> list[Message]:
    session.expire_all()
    from sqlalchemy import select

    return list(session.scalars(select(Message).where(Message.thread_id == thread.id,
                                                      Message.direction == "outbound").order_by(Message.id)))


MIDWEEK_UTC = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
