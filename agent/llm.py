"""The LLM client: chat completions with tools against any OpenAI-compatible endpoint.

One request per `chat()` attempt; rate limits (429), server errors (5xx), timeouts and
connection failures are retried with exponential backoff, anything else fails at once. Every
attempt, good or bad, is recorded as an `LlmCall` row (model, tokens, latency) on the thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from openai import APIConnectionError, APIStatusError, OpenAI
from openai.types.chat import ChatCompletion

from agent.models import LlmCall
from core.db import session_scope
from core.settings import get_settings

log = logging.getLogger(__name__)


class LlmUnavailable(Exception):
    """The model could not answer after the retries; the caller hands the thread to a person."""


def make_client(timeout: float) -> OpenAI:
    """An SDK client for the configured endpoint; the SDK's own retries are off (we retry and record).

    It runs on an `httpx.Client` (a textdesk dependency, and the client the SDK documents for
    custom transports), so proxies and test transports configured for httpx apply to it.
    """
    settings = get_settings()
    return OpenAI(api_key=settings.openai_api_key or "unused", base_url=settings.openai_base_url or None,
                  timeout=timeout, max_retries=0,
                  http_client=httpx.Client(timeout=timeout))  # type: ignore[arg-type]  # the SDK accepts httpx too


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, APIConnectionError):  # includes timeouts
        return True
    return isinstance(exc, APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def _record(account_id: int, thread_id: int | None, model: str, started: float,
            response: ChatCompletion | None = None, error: str | None = None) -> None:
    usage = response.usage if response is not None else None
    # Its own short transaction: spent tokens stay on record even if the turn rolls back, and no
    # write lock is held while the next attempt waits on the model.
    with session_scope() as session:
        session.add(LlmCall(
            account_id=account_id, thread_id=thread_id,
            model=(response.model if response is not None else None) or model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=int((time.monotonic() - started) * 1000), ok=error is None, error=error))


def chat(account_id: int, thread_id: int | None, messages: list[dict[str, Any]],
         tools: list[dict[str, Any]] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> ChatCompletion:
    """One chat completion (with tools), retried on transient failures; raises LlmUnavailable."""
    config = get_settings().agent
    model = get_settings().agent_model
    with make_client(config.timeout_seconds) as client:
        return _attempts(account_id, thread_id, client, model, messages, tools, sleep)


def _attempts(account_id: int, thread_id: int | None, client: OpenAI, model: str,
              messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              sleep: Callable[[float], None]) -> ChatCompletion:
    config = get_settings().agent
    options: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0.2}
    if tools:
        options["tools"] = tools
    last_error = "no attempt made"
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(config.backoff_seconds * 2 ** (attempt - 1))
        started = time.monotonic()
        try:
            response = client.chat.completions.create(**options)
        except (APIConnectionError, APIStatusError) as exc:
            cause = f" ({type(exc.__cause__).__name__}: {exc.__cause__})" if exc.__cause__ else ""
            last_error = f"{type(exc).__name__}: {exc}{cause}"[:500]
            _record(account_id, thread_id, model, started, error=last_error)
            log.warning("llm attempt %d failed for thread %s: %s", attempt + 1, thread_id, last_error)
            if not _retryable(exc):
                break
            continue
        if not response.choices:
            last_error = "the endpoint answered without choices"
            _record(account_id, thread_id, model, started, response, error=last_error)
            continue
        _record(account_id, thread_id, model, started, response)
        return response
    raise LlmUnavailable(last_error)
