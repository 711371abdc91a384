"""Test fixtures: the same tests run on the embedded default or on PostgreSQL + Redis.

Embedded (default): a SQLite file in a temp dir and an embedded Redis started for the session.
Servers: set TEXTDESK_TEST_DATABASE_URL (postgresql+psycopg://…) and TEXTDESK_TEST_REDIS_URL.
The environment is set before anything imports the app; tables are emptied and Redis flushed
before each test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="textdesk-tests-"))
os.environ["TEXTDESK_ENV_FILE"] = str(_TMP / "no.env")  # a developer's .env never leaks into tests
os.environ["TEXTDESK_DATA_DIR"] = str(_TMP / "data")
os.environ["TEXTDESK_DATABASE_URL"] = os.environ.get("TEXTDESK_TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db"
os.environ.setdefault("TEXTDESK_PUBLIC_URL", "http://testserver.local")
os.environ["TEXTDESK_SECRET_KEY"] = "test-secret-key"
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TEXTDESK_SMS_PROVIDER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
    os.environ.pop(name, None)

from core.embedded_redis import EmbeddedRedis  # noqa: E402

_embedded: EmbeddedRedis | None = None
if os.environ.get("TEXTDESK_TEST_REDIS_URL"):
    os.environ["TEXTDESK_REDIS_URL"] = os.environ["TEXTDESK_TEST_REDIS_URL"]
else:
    _embedded = EmbeddedRedis(_TMP / "redis")
    os.environ["TEXTDESK_REDIS_URL"] = _embedded.start()

from sqlalchemy import text  # noqa: E402

from core import db, queue  # noqa: E402
from core.settings import get_settings, reset_settings  # noqa: E402
from inbox.inbound import forget_accounts  # noqa: E402
from web.wiring import metadata, wire  # noqa: E402

wire()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _embedded is not None:
        _embedded.stop()


def _fresh_schema() -> None:
    from core.migrate import upgrade

    engine = db.get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()


@pytest.fixture(scope="session", autouse=True)
def _schema() -> Iterator[None]:
    reset_settings()
    _fresh_schema()
    yield
    db.reset_engine()


def _empty_tables() -> None:
    engine = db.get_engine()
    names = [t.name for t in reversed(metadata.sorted_tables) if t.name != "instance_settings"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence(conn) else None


def _has_sqlite_sequence(conn: object) -> bool:
    return bool(conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first())  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _clean(_schema: None) -> Iterator[None]:
    _empty_tables()
    queue.get_redis().flushdb()
    get_settings.cache_clear()  # a test's environment is read afresh, once
    forget_accounts()
    yield
    get_settings.cache_clear()


@pytest.fixture
def session() -> Iterator[db.Session]:
    """A database session for arranging and checking state; commit what the app must see."""
    s = db.get_sessionmaker()()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    from web.app import create_app

    return create_app()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    with TestClient(app, base_url=os.environ["TEXTDESK_PUBLIC_URL"]) as c:
        yield c


def run_jobs() -> None:
    """Run every queued job (and every scheduled job already due) on a real RQ worker, then return."""
    from web.worker import PromptExitWorker

    PromptExitWorker(list(queue.QUEUE_NAMES), connection=queue.get_redis()).work(burst=True, with_scheduler=True)


@pytest.fixture
def worker():  # type: ignore[no-untyped-def]
    return run_jobs


class DatabaseSwitch:
    """Takes the database away for real: pooled connections are closed and every new connection
    attempt fails with the driver's own OperationalError, as when the server is down."""

    def __init__(self) -> None:
        self.away = False

    def refuse(self, dialect, _record, _cargs, _params):  # type: ignore[no-untyped-def]
        if self.away:
            raise dialect.loaded_dbapi.OperationalError("connection refused: the database is away (test)")

    def take_away(self) -> None:
        self.away = True
        db.get_engine().dispose()

    def bring_back(self) -> None:
        self.away = False


@pytest.fixture
def database_switch() -> Iterator[DatabaseSwitch]:
    from sqlalchemy import event

    switch = DatabaseSwitch()
    engine = db.get_engine()
    event.listen(engine, "do_connect", switch.refuse)
    try:
        yield switch
    finally:
        switch.bring_back()
        event.remove(engine, "do_connect", switch.refuse)
