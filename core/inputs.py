"""What a value from outside must satisfy before it reaches the database.

An id wider than its column, a NUL character or a lone surrogate is not "no such row" or "odd
text" to PostgreSQL or SQLite: it is an error. Callers check with these first and answer 404 or
4xx naming the field, instead of letting the database turn it into a 500.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def id_in_range(model: Any, value: int) -> bool:
    """Whether `value` fits `model`'s integer primary key; one that cannot fit names no row."""
    column = next(iter(model.__table__.primary_key.columns))
    return 0 < value <= (INT64_MAX if isinstance(column.type, BigInteger) else INT32_MAX)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL or a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None
