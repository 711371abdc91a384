"""Inbound texts that arrive together are stored together: one writer thread per web process takes
every text waiting, stores them in one transaction (`inbox.inbound.receive_texts`) and answers each
request once that transaction has committed. Under load the commit, the reads and the INSERTs are
shared by the whole batch instead of paid by every text, and the requests no longer queue for a
thread each or for SQLite's single write lock; alone, a text is a batch of one and waits for nothing.

A batch that fails for any reason but the database being away is stored again one text at a time,
so a text that cannot be stored fails alone and the others are stored as usual.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.db import database_unreachable, get_sessionmaker
from inbox.inbound import InboundError, InboundResult, InboundText, receive_texts

log = logging.getLogger(__name__)

MAX_BATCH = 200


class DatabaseAway(Exception):
    """The database did not answer: the text was not stored (the webhook decides what to do)."""


Outcome = InboundResult | InboundError | Exception
_waiting: queue.SimpleQueue[tuple[dict[str, Any], asyncio.AbstractEventLoop, asyncio.Future[Outcome]]]
_waiting = queue.SimpleQueue()
_writer: threading.Thread | None = None
_writer_lock = threading.Lock()


async def store(fields: dict[str, Any]) -> Outcome:
    """Store one parsed inbound text with whatever else is waiting; its result, or the error that
    refused it (`DatabaseAway` when the database did not answer)."""
    global _writer
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Outcome] = loop.create_future()
    _waiting.put((fields, loop, future))
    if _writer is None or not _writer.is_alive():
        with _writer_lock:
            if _writer is None or not _writer.is_alive():
                _writer = threading.Thread(target=_run, name="textdesk-inbound-writer", daemon=True)
                _writer.start()
    return await future


def _run() -> None:
    while True:
        batch = [_waiting.get()]
        while len(batch) < MAX_BATCH and not _waiting.empty():
            batch.append(_waiting.get_nowait())
        try:
            outcomes = write([fields for fields, _, _ in batch])
        except Exception as exc:  # the writer must outlive anything a batch does
            log.exception("inbound batch failed")
            outcomes = [exc] * len(batch)
        # One wake-up of each event loop for the whole batch (a web process has one).
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Outcome], Outcome]]] = {}
        for (_, loop, future), outcome in zip(batch, outcomes, strict=True):
            answers.setdefault(loop, []).append((future, outcome))
        for loop, settled in answers.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that event loop has closed: nobody waits for these answers
                pass


def _settle(settled: list[tuple[asyncio.Future[Outcome], Outcome]]) -> None:
    for future, outcome in settled:
        if not future.done():  # the client may have gone away meanwhile
            future.set_result(outcome)


def write(texts: list[dict[str, Any]]) -> list[Outcome]:
    """Store the texts in one transaction and commit; each one's outcome, in order."""
    session = get_sessionmaker()()
    try:
        results: list[Outcome] = list(receive_texts(session, [InboundText(**fields) for fields in texts]))
        session.commit()
        return results
    except Exception as exc:
        _rollback(session)
        if database_unreachable(exc):
            return [DatabaseAway(str(exc))] * len(texts)
        if len(texts) == 1:
            log.exception("inbound text %s not stored", texts[0].get("provider_sid"))
            return [exc]
        log.warning("inbound batch of %d failed (%s); storing each alone", len(texts), exc)
        return [outcome for fields in texts for outcome in write([fields])]
    finally:
        session.close()


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    except SQLAlchemyError:  # the connection is gone with the database; closing the session drops it
        pass
