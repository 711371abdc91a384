"""A private textdesk for benchmarks: web processes and workers on free loopback ports, seeded with one
account and number, on a temporary SQLite file + embedded Redis or on the PostgreSQL/Redis given."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
AUTH_TOKEN = "bench-auth-token"
BUSINESS = "+14155550100"
PUBLIC_URL = "http://bench.textdesk.test"  # what signatures are computed against, whichever port serves


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reset_database(url: str) -> None:
    """An empty PostgreSQL schema (the benchmark owns that database)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


class Textdesk:
    def __init__(self, tmp: Path, database_url: str | None, redis_url: str | None, web: int = 1,
                 workers: int = 1, extra_env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.database_url = database_url or f"sqlite:///{tmp}/bench.db"
        self.database_kind = "postgresql" if self.database_url.startswith("postgresql") else "sqlite"
        self.public_url = PUBLIC_URL
        self.env = {**os.environ, "TEXTDESK_DATABASE_URL": self.database_url, "TEXTDESK_DATA_DIR": str(tmp / "data"),
                    "TEXTDESK_PUBLIC_URL": PUBLIC_URL, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                    "TEXTDESK_ENV_FILE": str(tmp / "no.env"), "TEXTDESK_SECRET_KEY": "bench", **(extra_env or {})}
        if redis_url:
            self.env["TEXTDESK_REDIS_URL"] = redis_url
        elif web > 1 or workers > 1:
            raise SystemExit("several web processes or workers need --database-url and --redis-url")
        self.web, self.workers, self.redis_url = web, workers, redis_url
        self.processes: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []

    def cli(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        out = subprocess.run([sys.executable, "-m", "web.cli", *args, "--json"], cwd=ROOT, env=self.env,
                             input=stdin, capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def __enter__(self) -> Textdesk:
        if self.database_kind == "postgresql":
            reset_database(self.database_url)
        if self.redis_url:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        account = self.cli("account", "create", "Bench Plumbing", "--timezone", "America/Los_Angeles")
        self.account_id = account["id"]
        self.cli("number", "add", str(account["id"]), BUSINESS, "--transactional", "--mps", "100")
        for n in range(self.web):
            port = free_port()
            args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            log = open(self.tmp / f"web{n}.log", "wb")
            self.processes.append(subprocess.Popen([sys.executable, "-m", "web.cli", *args], cwd=ROOT, env=self.env,
                                                   stdout=log, stderr=subprocess.STDOUT))
            self.urls.append(f"http://127.0.0.1:{port}")
            self._wait(self.urls[-1], self.processes[-1], n)
        if self.redis_url:
            for n in range(self.workers):
                self.start_worker(f"worker{n}")
        return self

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """A `textdesk worker` in a process group of its own (with the RQ scheduler it forks), logging to
        `name`.log; stopped with the others on exit."""
        log = open(self.tmp / f"{name}.log", "ab")
        process = subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], cwd=ROOT, env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and everything it forked at once, as when its machine or container is lost."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def _wait(self, url: str, process: subprocess.Popen[bytes], n: int) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"textdesk serve exited:\n{(self.tmp / f'web{n}.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("textdesk serve did not start within 90 s")

    def count_inbound(self) -> int:
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'inbound'")).scalar_one()
        engine.dispose()
        return int(count)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
