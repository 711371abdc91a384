"""`textdesk serve` and `textdesk demo`: one instance per data directory and port, the public URL
that follows --port, and the embedded Redis and worker whose lifecycle `serve` owns on every exit."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvicorn

from core.embedded_redis import EmbeddedRedis
from core.migrate import upgrade
from core.settings import Settings, get_settings, read_dotenv, reset_settings
from web.app import create_app
from web.instance import AlreadyRunning, InstanceClaim, browser_host, claim
from web.logins import proxy_headers_config


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if `serve` dies without cleaning up (SIGKILL, OOM).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def settings_for(host: str, port: int) -> Settings:
    """Settings for serving on `host:port`: the public URL follows the port unless it was set."""
    dotenv = read_dotenv(Path(os.environ.get("TEXTDESK_ENV_FILE", ".env")))
    if not (os.environ.get("TEXTDESK_PUBLIC_URL") or dotenv.get("TEXTDESK_PUBLIC_URL")):
        # Follow-up links and signature checks use it: `--port 9010` must not point them at 8000.
        os.environ["TEXTDESK_PUBLIC_URL"] = f"http://{browser_host(host)}:{port}"
        reset_settings()
    return get_settings()


def claim_or_exit(settings: Settings, host: str, port: int) -> InstanceClaim:
    """Take the data directory and the port, or exit 1 with one line naming what holds them."""
    try:
        # The data directory only matters when the embedded Redis lives in it.
        return claim(settings.data_dir if settings.embedded_redis else None, host, port)
    except AlreadyRunning as exc:
        print(f"textdesk: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


# The embedded default runs a worker per core (up to two): a burst of due follow-ups is CPU-bound in
# the workers, and each runs its jobs in one process.
EMBEDDED_WORKERS = min(2, os.cpu_count() or 1)


def serve(settings: Settings, host: str, port: int, with_worker: bool) -> None:
    """Migrate, start the embedded Redis and a worker when wanted, serve; stop all of it on any exit."""
    upgrade()
    redis_server: EmbeddedRedis | None = None
    workers: list[subprocess.Popen[bytes]] = []

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(0)  # a requested stop is a clean exit

    # SIGTERM unwinds through the `finally` below: before uvicorn starts, and again when uvicorn
    # re-raises it after its graceful shutdown.
    signal.signal(signal.SIGTERM, on_term)
    try:
        env = dict(os.environ)
        if settings.embedded_redis:
            redis_server = EmbeddedRedis(settings.data_dir)
            env["TEXTDESK_REDIS_URL"] = os.environ["TEXTDESK_REDIS_URL"] = redis_server.start()
            reset_settings()
            print(f"embedded redis at {redis_server.url}", flush=True)
        if settings.embedded_redis or with_worker:
            # The worker's job logs go to a file of their own, not between the server's request lines.
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            worker_log = settings.data_dir / "worker.log"
            for _ in range(EMBEDDED_WORKERS if settings.embedded_redis else 1):
                with worker_log.open("ab") as out:
                    worker = subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], env=env,
                                              stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
                workers.append(worker)
                print(f"rq worker with scheduler: pid {worker.pid} (its log: {worker_log.resolve()})", flush=True)
        # uvloop and httptools: the C event loop and HTTP parser cost a fraction of the pure-Python ones.
        # No access log: a line per request costs more than a webhook's handler; /metrics counts them.
        config = uvicorn.Config(create_app(), host=host, port=port, log_level="info", ws="websockets-sansio",
                                loop="uvloop", http="httptools", access_log=False, **proxy_headers_config(settings))
        # Everything loaded so far lives as long as the process: kept out of the cyclic collector, whose
        # full passes over it otherwise stall every request for tens of milliseconds.
        gc.freeze()
        uvicorn.Server(config).run()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if redis_server is not None:
            redis_server.stop()
        print("textdesk stopped", flush=True)
