"""A live textdesk (`textdesk serve --with-worker` on a free loopback port, on the test database and
Redis) and Debian's chromium driven by Playwright. Playwright never downloads a browser here.

Without /usr/bin/chromium the browser tests are skipped, unless TEXTDESK_REQUIRE_BROWSER is set
(CI sets it), in which case a missing browser is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

# What the page shows after the server's worker acts can take seconds on a loaded CI machine;
# a real failure still fails, only later.
expect.set_options(timeout=10_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def webhook_text(self, to: str, from_: str, body: str, sid: str) -> None:
        """A customer's text arriving the way the provider delivers it (dev provider: unsigned)."""
        response = httpx.post(f"{self.url}/webhooks/twilio/messages", timeout=10, data={
            "MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_, "To": to, "Body": body,
            "NumMedia": "0"})
        assert response.status_code == 200, response.text


@pytest.fixture(autouse=True)
def _clean(_schema: None) -> Iterator[None]:
    """The root conftest's per-test cleanup, retried: the live server and its worker keep querying
    while a test empties the tables, and on PostgreSQL the TRUNCATE can lose a deadlock to them."""
    from sqlalchemy.exc import OperationalError

    from tests import conftest as root

    for attempt in range(5):
        try:
            root._empty_tables()
            break
        except OperationalError as exc:
            if "deadlock" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.3)
    root.queue.get_redis().flushdb()
    yield


# Package scope: the live server's RQ worker shares the test Redis, so it must be gone before the
# other packages' tests enqueue jobs of their own (it would run them, on its own settings).
@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # Private URLs allowed: the webhook test's receiver listens on loopback.
    env = dict(os.environ, TEXTDESK_PUBLIC_URL=url, PYTHONUNBUFFERED="1", TEXTDESK_WEBHOOKS_ALLOW_PRIVATE="1")
    log = tmp_path_factory.mktemp("live") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port",
                                    str(port), "--with-worker"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = LiveServer(url, process, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"textdesk serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            pytest.fail(f"textdesk serve did not answer within 60 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield server
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("TEXTDESK_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and TEXTDESK_REQUIRE_BROWSER is set: "
                        "install Debian's chromium")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every browser a fresh temporary profile (user data dir), removed on close.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """new_page() -> a page in its own browser context (its own cookies: another person's browser)."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
