"""On SQLite every write transaction holds the writers' queue (a flock beside the database) from its
first write until it ends, so another process's writer waits in the kernel's queue, not in SQLite's
sleeping busy handler; reads never take it."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy import select, text, update

from core.db import get_engine, session_scope
from inbox.models import Account
from tests.factories import make_tenant


def _queue_taken(path: str) -> bool:
    """What another process would find: the flock held by someone else."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases it if this look took it
    return False


@pytest.fixture
def queue_path(session) -> str:  # type: ignore[no-untyped-def]
    if get_engine().dialect.name != "sqlite":
        pytest.skip("the writers' queue is SQLite's: PostgreSQL locks rows")
    return f"{get_engine().url.database}-writer"


def test_a_write_transaction_holds_the_queue_until_it_commits_and_a_read_never_takes_it(session,
                                                                                         queue_path) -> None:
    tenant = make_tenant(session)
    with session_scope() as db:
        db.scalars(select(Account)).all()
        assert not _queue_taken(queue_path)  # reading
        db.execute(update(Account).where(Account.id == tenant.account.id).values(name="Queued Plumbing"))
        assert _queue_taken(queue_path)  # from the first write
    assert not _queue_taken(queue_path)  # committed
    with pytest.raises(RuntimeError), session_scope() as db:
        db.execute(update(Account).values(name="Never"))
        raise RuntimeError("the job failed")
    assert not _queue_taken(queue_path)  # rolled back
    session.expire_all()
    assert session.get(Account, tenant.account.id).name == "Queued Plumbing"


def test_a_writer_in_another_thread_waits_for_the_queue_and_then_writes(session, queue_path) -> None:
    tenant = make_tenant(session)
    done = threading.Event()

    def second_writer() -> None:
        with session_scope() as db:
            db.execute(text("UPDATE accounts SET name = name || ' & Sons' WHERE id = :id"), {"id": tenant.account.id})
        done.set()

    with session_scope() as db:
        db.execute(update(Account).where(Account.id == tenant.account.id).values(name="Reyes"))
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not done.wait(0.3)  # queued behind this transaction
    thread.join(10)
    assert done.is_set()
    session.expire_all()
    assert session.get(Account, tenant.account.id).name == "Reyes & Sons"  # after the first, not lost
