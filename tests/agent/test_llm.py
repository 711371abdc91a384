"""The LLM client: retries with backoff on transient failures, and a record of every call."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import llm as agent_llm
from agent.models import LlmCall
from core.settings import get_settings
from tests.agent.conftest import ScriptedLLM, Shop, completion

MESSAGES = [{"role": "user", "content": "hi"}]


def test_transient_failures_are_retried_with_exponential_backoff(session: Session, shop: Shop, llm: ScriptedLLM,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("TEXTDESK_AGENT_BACKOFF_SECONDS", "0.5")
    monkeypatch.setenv("TEXTDESK_AGENT_RETRIES", "3")
    get_settings.cache_clear()
    llm.then(httpx.Response(429, json={"error": {"message": "slow down"}}), httpx.Response(503, text="busy"),
             httpx.ConnectTimeout("no route"), completion("hello"))
    sleeps: list[float] = []
    response = agent_llm.chat(shop.account.id, shop.thread.id, MESSAGES, sleep=sleeps.append)
    assert response.choices[0].message.content == "hello"
    assert sleeps == [0.5, 1.0, 2.0]
    calls = session.scalars(select(LlmCall).order_by(LlmCall.id)).all()
    assert [c.ok for c in calls] == [False, False, False, True]
    assert (calls[-1].prompt_tokens, calls[-1].completion_tokens, calls[-1].model) == (420, 18, "test-model")
    assert all(c.thread_id == shop.thread.id and c.latency_ms >= 0 for c in calls)


def test_a_client_error_is_not_retried(session: Session, shop: Shop, llm: ScriptedLLM) -> None:
    llm.then(httpx.Response(400, json={"error": {"message": "bad model"}}))
    with pytest.raises(agent_llm.LlmUnavailable, match="BadRequest"):
        agent_llm.chat(shop.account.id, shop.thread.id, MESSAGES, sleep=lambda s: None)
    assert llm.route.call_count == 1


def test_requests_name_the_configured_model_and_send_the_tools(session: Session, shop: Shop, llm: ScriptedLLM) -> None:
    from agent.tools import definitions

    llm.then(completion("ok"))
    agent_llm.chat(shop.account.id, shop.thread.id, MESSAGES, definitions(session, shop.account))
    sent = llm.requests[0]
    assert sent["model"] == "test-model"
    assert [t["function"]["name"] for t in sent["tools"]] == ["find_slots", "book_slot", "reschedule_booking",
                                                              "cancel_booking", "hand_off"]
    assert llm.route.calls[0].request.headers["authorization"] == "Bearer sk-test"
