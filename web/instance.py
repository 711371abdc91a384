"""One `textdesk serve` per data directory and per port, checked before anything is touched.

A second `./run` used to reset the demo password and delete the first server's embedded-Redis
socket before failing on the busy port. `claim` runs first and refuses with one line naming what
is running and where, so the running instance is never disturbed.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

LOCK_NAME = "serve.lock"


class AlreadyRunning(RuntimeError):
    """Another textdesk (or another program) holds the data directory or the port."""


@dataclass
class InstanceClaim:
    lock: IO[str] | None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()  # closing the file drops the flock
            self.lock = None


def browser_host(host: str) -> str:
    """The host a person types: a wildcard bind is reached on loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _holder(lock: IO[str]) -> dict[str, object]:
    lock.seek(0)
    try:
        data = json.loads(lock.read() or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _lock_data_dir(data_dir: Path) -> IO[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(data_dir / LOCK_NAME, "a+")  # held open (and locked) for the life of the server
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        holder = _holder(lock)
        lock.close()
        raise AlreadyRunning(
            f"textdesk is already running from {data_dir.resolve()} (pid {holder.get('pid', '?')}) "
            f"at {holder.get('url', 'an unknown URL')}; stop it first, or set TEXTDESK_DATA_DIR for a second one"
        ) from None
    return lock


def _port_busy(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The same option uvicorn sets, so a port in TIME_WAIT is free for both of us.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def _textdesk_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).json() == {"status": "ok"}
    except (httpx.HTTPError, ValueError):
        return False


def claim(data_dir: Path | None, host: str, port: int) -> InstanceClaim:
    """Take the data directory (when given: the embedded Redis lives there) and check the port.

    Raises `AlreadyRunning` with a one-line message; nothing has been changed when it does.
    """
    url = f"http://{browser_host(host)}:{port}"
    lock = _lock_data_dir(data_dir) if data_dir is not None else None
    try:
        if _port_busy(host, port):
            who = "textdesk is already running there" if _textdesk_answers(url) else "another program is using it"
            raise AlreadyRunning(f"port {port} is already in use ({who}: {url}); "
                                 f"stop it first or pick another port with --port")
    except BaseException:
        if lock is not None:
            lock.close()
        raise
    if lock is not None:
        lock.seek(0)
        lock.truncate()
        lock.write(json.dumps({"pid": os.getpid(), "url": url}))
        lock.flush()
    return InstanceClaim(lock)
