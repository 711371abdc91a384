"""The inbound spool: provider webhooks that arrived while the database was away, kept on local disk
until they are stored.

A webhook that was verified and parsed but could not be stored because the database did not answer
is appended as one JSON line (its kind, its parsed fields and when it arrived) to this process's
file, `<data dir>/spool/<pid>.jsonl`, flushed and fsynced before the provider gets its 200: from
then on it survives a crash of the process.

Every web process runs a replayer thread (`SpoolReplayer`, started and stopped with the app): twice
a second, when spool files exist, it claims one by renaming it (`replaying-<pid>-<random>.jsonl`;
a rename is atomic, so two processes never replay the same file) and stores its lines one by one,
each in its own transaction, through the same function the webhook uses, with the time it arrived.
Storing is idempotent by MessageSid, so a line stored twice (a replayer that died midway, the
provider's own retry) changes nothing. A file is removed once every line is stored; if the database
goes away again midway, the file stays claimed and is replayed again from its start. A process
replays its own files and those of processes that are no longer running (their pid is gone), so
a crash strands nothing. A line that can never be stored (a bug, not an outage) is set aside in
`unstored.jsonl` with its error, for a person to look at, and the rest of the file goes on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from core.db import database_unreachable, get_sessionmaker, utcnow
from core.settings import get_settings

log = logging.getLogger(__name__)

REPLAY_EVERY_SECONDS = 0.5
# A spooled line: stored by a handler that takes a session, the parsed fields and when they arrived.
Handler = Callable[[Session, dict[str, Any], datetime], None]
_FILE = re.compile(r"^(?:(?P<owner>\d+)|replaying-(?P<claimer>\d+)-[0-9a-f]+)\.jsonl$")
_append_lock = threading.Lock()  # one writer per file: this process's request threads take turns
_replay_lock = threading.Lock()


def spool_dir() -> Path:
    return get_settings().data_dir / "spool"


def append(kind: str, fields: Mapping[str, Any]) -> None:
    """Keep one webhook on disk (durably: flushed and fsynced) until the replayer stores it."""
    line = (json.dumps({"kind": kind, "received_at": utcnow().isoformat(), "fields": dict(fields)}) + "\n").encode()
    directory = spool_dir()
    with _append_lock:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}.jsonl"
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            try:
                if os.write(fd, line) != len(line):
                    raise OSError("short write to the spool")
                os.fsync(fd)
            except OSError:  # a disk full: leave no partial line for the next one to run into
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
        if created:  # the new file's name must survive a power cut as well as its content
            _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _claimable(directory: Path) -> list[Path]:
    """This process's files and those of dead processes, oldest first."""
    me, found = os.getpid(), []
    for path in directory.iterdir():
        match = _FILE.match(path.name)
        if match is None:
            continue
        pid = int(match["owner"] or match["claimer"])
        if pid == me or not _alive(pid):
            found.append(path)
    return sorted(found, key=_mtime)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _claim(path: Path) -> Path | None:
    """Rename the file to a name of this process's; None if another process took it first."""
    me = os.getpid()
    if path.name.startswith(f"replaying-{me}-"):
        return path
    claimed = path.with_name(f"replaying-{me}-{uuid.uuid4().hex}.jsonl")
    try:
        if path.name == f"{me}.jsonl":
            with _append_lock:  # a request appending now finishes first; the next one starts a new file
                path.rename(claimed)
        else:
            path.rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def _set_aside(line: str, exc: BaseException) -> None:
    with (spool_dir() / "unstored.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"line": line, "error": repr(exc)}) + "\n")
        out.flush()
        os.fsync(out.fileno())


def _replay_file(path: Path, handlers: Mapping[str, Handler]) -> tuple[int, bool]:
    """Store every line of a claimed file; (lines stored, True if the file is done and removed)."""
    stored = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line torn by a crash mid-write: its webhook was never answered 200
            log.warning("spool %s: skipping a torn line", path.name)
            continue
        try:
            with get_sessionmaker()() as session:
                handlers[entry["kind"]](session, entry["fields"], datetime.fromisoformat(entry["received_at"]))
        except Exception as exc:
            # The database (or Redis) is away again: keep the file for the next round.
            if database_unreachable(exc) or isinstance(exc, RedisError):
                log.debug("spool %s: cannot store yet (%s)", path.name, exc)
                return stored, False
            log.exception("spool %s: a line cannot be stored; set aside in unstored.jsonl", path.name)
            _set_aside(line, exc)
            continue
        stored += 1
    path.unlink()
    return stored, True


def replay(handlers: Mapping[str, Handler]) -> int:
    """Store what the spool holds (this process's files and dead processes'); returns lines stored."""
    directory = spool_dir()
    if not directory.is_dir():
        return 0
    total = 0
    with _replay_lock:
        for path in _claimable(directory):
            claimed = _claim(path)
            if claimed is None:
                continue
            stored, done = _replay_file(claimed, handlers)
            total += stored
            if not done:
                break
    if total:
        log.info("spool: %d webhooks kept while the database was away are now stored", total)
    return total


class SpoolReplayer:
    """The replay loop in a daemon thread of a web process: `start` with the app, `stop` at shutdown."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self.handlers = handlers
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="textdesk-spool", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(REPLAY_EVERY_SECONDS):
            try:
                replay(self.handlers)
            except Exception:  # never let the loop die: the next round tries again
                log.exception("spool replay failed")
