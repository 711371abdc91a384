"""The AI agent's usage for the dashboard: LLM calls, tokens and median latency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.models import LlmCall


def agent_usage(session: Session, account_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    where = [LlmCall.account_id == account_id, LlmCall.created_at >= start, LlmCall.created_at < end]
    calls, failed, prompt, completion = session.execute(
        select(func.count(), func.count().filter(LlmCall.ok.is_(False)),
               func.coalesce(func.sum(LlmCall.prompt_tokens), 0),
               func.coalesce(func.sum(LlmCall.completion_tokens), 0)).where(*where)
    ).one()
    # The newest 1,000 successful calls are plenty for a median and keep the query bounded.
    latencies = sorted(session.scalars(select(LlmCall.latency_ms).where(*where, LlmCall.ok.is_(True))
                                       .order_by(LlmCall.id.desc()).limit(1000)))
    return {"calls": calls, "failed": failed, "prompt_tokens": prompt, "completion_tokens": completion,
            "latency_p50_ms": latencies[len(latencies) // 2] if latencies else None}
