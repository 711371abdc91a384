"""`textdesk serve` on the embedded default: it starts Redis and a worker, answers /readyz, and
leaves no process behind on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_serve_embedded_is_ready_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTDESK_")}
    env["TEXTDESK_ENV_FILE"] = str(tmp_path / "none.env")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], cwd=tmp_path,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if response.status_code == 200:
                    ready = response.json()
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready == {"status": "ready", "database": "ok", "redis": "ok"}, log.read_text()
        assert (tmp_path / "textdesk.db").exists()
        worker_pid = int(re.search(r"rq worker with scheduler: pid (\d+)", log.read_text()).group(1))
        redis_pids = [int(p) for p in subprocess.run(["pgrep", "-f", str(tmp_path / ".textdesk")],
                                                     capture_output=True, text=True).stdout.split()]
        assert redis_pids and _alive(worker_pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    time.sleep(0.5)
    assert proc.returncode == 0, log.read_text()
    assert "textdesk stopped" in log.read_text()
    assert not _alive(worker_pid)
    assert not any(_alive(pid) for pid in redis_pids)
