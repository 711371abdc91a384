"""Search over message text: PostgreSQL full-text (stemmed, prefix-matching as a rep types) where
the database has it, a case-insensitive substring match on SQLite."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select

from inbox.models import Message

_WORD = re.compile(r"\w+", re.UNICODE)
# The same expression as the GIN index the 0004 migration creates.
_CONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")


def _text_match(dialect: str, term: str) -> ColumnElement[bool] | None:
    if dialect == "postgresql":
        words = _WORD.findall(term.lower())
        if not words:
            return None
        # Only \w characters reach to_tsquery, so a search can never be a tsquery syntax error.
        query = " & ".join(f"{word}:*" for word in words[:8])
        return func.to_tsvector(_CONFIG, Message.body).op("@@")(func.to_tsquery(_CONFIG, query))
    return func.lower(Message.body).contains(term.lower(), autoescape=True)


def threads_with_text(dialect: str, account_id: int, term: str) -> Any | None:
    """A subquery of the account's thread ids with a message matching `term` (None: nothing to match)."""
    match = _text_match(dialect, term)
    if match is None:
        return None
    return select(Message.thread_id).where(Message.account_id == account_id, match)
