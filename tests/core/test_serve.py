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


def _start(tmp_path: Path, command: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`textdesk COMMAND` on the embedded default in an empty directory, once /readyz says ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTDESK_")}
    env["TEXTDESK_ENV_FILE"] = str(tmp_path / "none.env")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", command, "--port", str(port)], cwd=tmp_path,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if response.status_code == 200:
                assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}
                return proc, port, log
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"not ready within 60 s:\n{log.read_text()}")


def test_serve_embedded_is_ready_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, _, log = _start(tmp_path, "serve")
    try:
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


def test_demo_seeds_an_account_and_its_printed_login_works(tmp_path: Path) -> None:
    proc, port, log = _start(tmp_path, "demo")
    try:
        found = re.search(r"as (\S+) / (\S+)", log.read_text())
        assert found, log.read_text()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
            response = browser.post("/login", data={"email": found.group(1), "password": found.group(2)})
            assert response.status_code == 303 and response.headers["location"] == "/inbox"
            inbox = browser.get("/inbox")
            assert inbox.status_code == 200
            assert 'action="/logout"' in inbox.text  # the logged-in layout, not the login form
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0
