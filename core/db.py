"""The database: one engine per process, one declarative base, and the one sessionmaker that web
requests (`provide_session`), jobs and the CLI (`session_scope`) get their sessions from.

Side effects that must only happen once a write is durable (realtime events, RQ jobs) are
registered with `on_commit` and run after the session commits; a rollback drops them.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    literal_column,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from core.settings import get_settings, on_reset

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while a worker writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _QueuedWriter(sqlite3.Connection):
    """SQLite admits one writer at a time and makes the others poll with growing sleeps (up to 100 ms),
    so under load the lock mostly goes back to whoever just had it while the others sleep through the
    moments it is free. So each write transaction of every textdesk process first takes an exclusive
    flock on `<database>-writer`, where the kernel queues the waiters and wakes the next one as soon as
    the holder commits or rolls back. Reads never wait (WAL)."""

    queue_path = ""
    _fd: int | None = None

    def join_queue(self) -> None:
        thread = threading.get_ident()
        if self._fd is not None or thread in _writers:
            return  # holding it, or nested in this thread's own write: SQLite's busy timeout decides
        self._fd = os.open(self.queue_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        _writers[thread] = self

    def _leave_queue(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
            for thread in [t for t, c in list(_writers.items()) if c is self]:
                _writers.pop(thread, None)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_queue()


_writers: dict[int, _QueuedWriter] = {}  # thread → the connection through which it holds the queue


def _join_write_queue(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """Before the statement that opens a write transaction (the driver begins one before DML)."""
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
        dbapi_connection.join_queue()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 10}
        queued = bool(database) and database != ":memory:"
        if queued:
            connect_args["factory"] = type("QueuedWriter", (_QueuedWriter,), {"queue_path": f"{database}-writer"})
        engine = create_engine(url, connect_args=connect_args)
        event.listen(engine, "connect", _sqlite_pragmas)
        if queued:
            event.listen(engine, "before_cursor_execute", _join_write_queue)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def json_rows_insert(table: Table, columns: Sequence[str]) -> postgresql.Insert:
    """PostgreSQL's INSERT of many rows sent as one JSON document (`INSERT … SELECT FROM
    json_populate_recordset(…)`, typed by the table's own row type), run by `insert_rows`.
    Its text is the same for any number of rows, so psycopg converts it once and the server prepares it;
    a multi-row VALUES list is new text for each row count, which psycopg parses again on every
    execution once it holds more than 50 values (most of a large batch's CPU)."""
    rows = func.json_populate_recordset(literal_column(f"NULL::{table.name}"), cast(bindparam("rows", type_=Text), JSON))
    return postgresql.insert(table).from_select(list(columns), select(*rows.table_valued(*columns).c))


def insert_rows(session: Session, postgres: Executable, other: Executable, rows: Sequence[dict[str, Any]]) -> Any:
    """Run an INSERT of many rows, RETURNING what it names: on PostgreSQL `postgres` (a `json_rows_insert`)
    with the rows as one JSON document (times in ISO 8601, with their offset), elsewhere `other` with
    the rows as its multi-row VALUES. The scalars returned."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalars(postgres, {"rows": json.dumps(rows, default=_utc_iso)})
    return session.scalars(other, rows)


def _utc_iso(value: datetime) -> str:
    return UTCDateTime().process_bind_param(value, None).isoformat()  # type: ignore[union-attr]  # as stored


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def database_unreachable(exc: BaseException) -> bool:
    """The database could not be reached, dropped the connection or gave none in time: worth trying
    again later. A bad statement, a constraint or a value it cannot store is not."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def database_reachable() -> bool:
    """One round trip on a pooled connection (pre-pinged, so a stale one is replaced first)."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        log.debug("database unreachable: %s", exc)
        return False
    return True


def reset_engine() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


on_reset(reset_engine)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for jobs and the CLI: commits on success, rolls back on error, always closes."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def provide_session() -> Iterator[Session]:
    """A session for one web request (Litestar's `db` dependency); the handler commits what it means to."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after `session` commits; dropped if it rolls back."""
    session.info.setdefault("on_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed publish must not undo a committed write
            log.exception("on-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop("on_commit", None)
