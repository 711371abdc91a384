"""Small SQL helpers the analytics queries share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, Integer, any_, literal, text
from sqlalchemy.orm import Session

CHUNK = 10_000  # ids per IN list: well under SQLite's 32,766 bound parameters


def without_jit(session: Session) -> None:
    """PostgreSQL's JIT compiles the analytics queries' per-row probes for over a second to save
    milliseconds (its cost threshold counts every probe as if it scanned); turned off for this
    read-only transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def one_of(session: Session, column: Any, ids: list[int]) -> Any:
    """`column IN ids`; on PostgreSQL as `= ANY(array)`: one parameter instead of thousands to plan."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)
