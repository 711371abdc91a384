"""A demo that running twice cannot break: the second start refuses at once and touches nothing;
the demo login survives restarts; the public URL follows --port; a lost Redis is a 503."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.settings import reset_settings
from tests.core.test_serve import _free_port, _start


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTDESK_")}
    env["TEXTDESK_ENV_FILE"] = str(tmp_path / "none.env")
    return env


def _login(log: Path) -> tuple[str, str]:
    found = re.findall(r"as (\S+) / (\S+)", log.read_text())
    assert found, log.read_text()
    return found[-1]


def _logs_in(port: int, email: str, password: str) -> bool:
    response = httpx.post(f"http://127.0.0.1:{port}/login", data={"email": email, "password": password})
    return response.status_code == 303


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def test_second_demo_on_the_same_data_dir_exits_at_once_and_the_first_keeps_working(tmp_path: Path) -> None:
    first, port, log = _start(tmp_path, "demo")
    try:
        email, password = _login(log)
        socket_path = tmp_path / ".textdesk" / "redis.sock"
        assert socket_path.exists()
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "web.cli", "demo", "--port", str(_free_port())],
                                cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=30)
        assert time.monotonic() - started < 10
        assert second.returncode == 1
        message = second.stderr.strip()
        assert len(message.splitlines()) == 1, message
        assert f"already running from {tmp_path / '.textdesk'}" in message
        assert f"http://127.0.0.1:{port}" in message
        assert "log in" not in second.stdout  # no new password was made or printed
        assert socket_path.exists()
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/static/inbox.js").status_code == 200
        assert _logs_in(port, email, password)
    finally:
        _stop(first)


def test_serve_on_a_busy_port_names_the_textdesk_already_there(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, port, _ = _start(tmp_path / "a", "serve")
    try:
        second = subprocess.run([sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
                                cwd=tmp_path / "b", env=_env(tmp_path), capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert second.stderr.strip() == (
            f"textdesk: port {port} is already in use (textdesk is already running there: "
            f"http://127.0.0.1:{port}); stop it first or pick another port with --port")
        assert not (tmp_path / "b" / "textdesk.db").exists()  # nothing was created, not even the database
    finally:
        _stop(first)


def test_demo_password_is_set_once_and_printed_on_every_start(tmp_path: Path) -> None:
    first, port, log = _start(tmp_path, "demo")
    email, password = _login(log)
    _stop(first)
    again, port, log = _start(tmp_path, "demo")
    try:
        assert _login(log) == (email, password)
        assert _logs_in(port, email, password)
    finally:
        _stop(again)


def test_port_sets_the_public_url_unless_it_was_set(tmp_path: Path) -> None:
    proc, port, log = _start(tmp_path, "demo")
    try:
        assert f"log in at http://127.0.0.1:{port}/login" in log.read_text()
    finally:
        _stop(proc)
    from web.serving import settings_for

    saved = os.environ.get("TEXTDESK_PUBLIC_URL")
    try:
        os.environ.pop("TEXTDESK_PUBLIC_URL", None)
        assert settings_for("0.0.0.0", 9010).public_url == "http://127.0.0.1:9010"
        os.environ["TEXTDESK_PUBLIC_URL"] = "https://texts.example.com"
        reset_settings()
        assert settings_for("127.0.0.1", 9011).public_url == "https://texts.example.com"
    finally:
        if saved is None:
            os.environ.pop("TEXTDESK_PUBLIC_URL", None)
        else:
            os.environ["TEXTDESK_PUBLIC_URL"] = saved
        reset_settings()


def test_lost_embedded_redis_is_a_503_naming_redis(tmp_path: Path) -> None:
    proc, port, _ = _start(tmp_path, "serve")
    try:
        found = subprocess.run(["pgrep", "-f", str(tmp_path / ".textdesk" / "redis.sock")],
                               capture_output=True, text=True).stdout.split()
        assert found
        for pid in found:
            os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.5)
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert any(p.startswith("redis unreachable") for p in response.json()["problems"])
    finally:
        _stop(proc)
