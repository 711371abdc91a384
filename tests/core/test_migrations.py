from __future__ import annotations

from sqlalchemy import inspect

from core import db
from core.migrate import downgrade, upgrade
from web.wiring import metadata


def test_migrations_downgrade_to_nothing_and_upgrade_to_the_models() -> None:
    engine = db.get_engine()
    downgrade()
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_migrated_columns_match_the_models() -> None:
    inspector = inspect(db.get_engine())
    for table in metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name
