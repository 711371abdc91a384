"""HTTP errors the JSON API shares."""

from __future__ import annotations

from litestar.exceptions import ClientException


def unprocessable(detail: str) -> ClientException:
    """A 422 whose detail starts with the field a person can fix (`business_hours.mon[0]: …`, CONTRACTS.md)."""
    return ClientException(status_code=422, detail=detail)
