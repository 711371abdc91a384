"""Migration 0005 creates exactly what analytics/models.py declares: the table and its indexes."""

from __future__ import annotations

from sqlalchemy import inspect

from analytics import models
from core import db


def test_migrated_analytics_table_and_indexes_match_the_models() -> None:
    inspector = inspect(db.get_engine())
    table = models.AnalyticsSettings.__table__
    assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}
    declared = {
        (t.name, ix.name) for t in models.Base.metadata.tables.values() for ix in t.indexes}
    for table_name in ("booking_sessions", "followups", "messages", "consent_events", "bookings", "threads"):
        migrated = {ix["name"] for ix in inspector.get_indexes(table_name)}
        wanted = {name for owner, name in declared if owner == table_name}
        assert wanted <= migrated, table_name
