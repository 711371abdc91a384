"""CSV exports: the funnel (one row per scope, step and detail) and bookings with their attribution."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from analytics.attribution import Touch

FUNNEL_HEADER = ("scope", "step", "detail", "value")
BOOKINGS_HEADER = ("booking_id", "created_at", "status", "source", "booked_by", "contact_id", "job_type",
                   "starts_at", "attributed", "followup_id", "session_ref", "variant", "step", "touched_at")


def _rows_of(name: str, f: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    scope = _cell(name)
    yield scope, "abandoned", "", f["abandoned"]
    yield scope, "scheduled", "", f["scheduled"]
    yield scope, "cancelled", "", f["cancelled"]["total"]
    for key in ("completed_on_their_own", "replied_first", "opted_out", "by_rep", "other"):
        yield scope, "cancelled", key, f["cancelled"][key]
    yield scope, "blocked", "", f["blocked"]["total"]
    for reason in f["blocked"]["reasons"]:
        yield scope, "blocked", reason["label"], reason["count"]
    yield scope, "sent", "", f["sent"]
    yield scope, "delivered", "", f["delivered"]
    yield scope, "failed", "", f["failed"]["total"]
    for reason in f["failed"]["reasons"]:
        yield scope, "failed", reason["label"], reason["count"]
    for step in ("clicked", "replied", "opted_out"):
        yield scope, step, "", f[step]
    yield scope, "booked", "", f["booked"]["total"]
    for by in ("agent", "link", "rep"):
        yield scope, "booked", f"by {by}", f["booked"][by]
    rate = f["booking_rate"]
    yield scope, "booking_rate", "booked / sent", "" if rate is None else f"{rate:.6f}"
    wait = f["median_seconds_to_booking"]
    yield scope, "median_seconds_to_booking", "", "" if wait is None else f"{wait:.0f}"


def _cell(value: Any) -> Any:
    """Text a customer or a scheduler widget typed, made inert for spreadsheets: a leading = + - @
    would otherwise run as a formula when the owner opens the file."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write(header: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def funnel_csv(funnel: dict[str, Any]) -> str:
    def rows() -> Iterator[tuple[Any, ...]]:
        yield from _rows_of("total", funnel["total"])
        for name, f in funnel["variants"].items():
            yield from _rows_of(f"variant:{name}", f)
    return _write(FUNNEL_HEADER, rows())


def bookings_csv(touches: list[Touch], timezone: str) -> str:
    """One row per booking; times in the account's zone with their offset."""
    zone = ZoneInfo(timezone)

    def local(moment: Any) -> str:
        return moment.astimezone(zone).isoformat() if moment is not None else ""

    def rows() -> Iterator[tuple[Any, ...]]:
        for t in sorted(touches, key=lambda t: (t.booked_at, t.booking_id)):
            yield (t.booking_id, local(t.booked_at), t.status, t.source, t.booked_by, t.contact_id,
                   _cell(t.job_type or ""), local(t.starts_at), "yes" if t.attributed else "no", t.followup_id or "",
                   _cell(t.session_ref or ""), _cell(t.variant or ""), t.step or "", local(t.touched_at))
    return _write(BOOKINGS_HEADER, rows())
