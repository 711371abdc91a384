"""Several processes, as `scripts/cluster` runs them: two web processes with no embedded services and
two workers on the test database and Redis. A rep's websocket on web A receives a text that arrived
on web B, and follow-ups go out once however many workers race for them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from inbox.models import Contact, Message
from tests.factories import make_tenant
from tests.followups.helpers import daytime_zone
from webhooks.scheduler import sign

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"a cluster process exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two `textdesk serve` (no --with-worker) and two `textdesk worker`, stopped when the module ends
    so their workers never run other tests' jobs."""
    logs = tmp_path_factory.mktemp("cluster")
    env = dict(os.environ, PYTHONUNBUFFERED="1", TEXTDESK_FOLLOWUP_DELAY_SECONDS="0")
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = logs / f"web-{name}.log"
            with open(log, "wb") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
            _wait_up(urls[-1], processes[-1], log)
        for n in range(2):
            with open(logs / f"worker-{n}.log", "wb") as out:
                processes.append(subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], cwd=ROOT, env=env,
                                                  stdout=out, stderr=subprocess.STDOUT))
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


async def _text_on_b_reaches_socket_on_a(web_a: str, web_b: str, token: str, to: str) -> dict[str, object]:
    async with connect(web_a.replace("http://", "ws://") + "/ws",
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        await asyncio.sleep(0.3)  # subscribed on A before the text arrives on B
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{web_b}/webhooks/twilio/messages", data={
                "MessageSid": "SMcluster0000000000000000000000001", "AccountSid": "AC" + "0" * 32,
                "From": "+14155550177", "To": to, "Body": "Arrived on web B", "NumMedia": "0"})
            assert answer.status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if event.get("type") == "message.created":
                return event
    raise AssertionError("web A's socket never got the text that arrived on web B")


def test_a_text_arriving_on_one_web_process_reaches_a_rep_connected_to_another(cluster, session) -> None:
    tenant = make_tenant(session)
    session.commit()
    event = asyncio.run(_text_on_b_reaches_socket_on_a(cluster[0], cluster[1], tenant.token, tenant.number.phone))
    assert event["payload"]["body"] == "Arrived on web B"  # type: ignore[index]


def test_followups_go_out_once_with_two_workers_and_two_web_processes(cluster, session) -> None:
    tenant = make_tenant(session)
    count = 20
    for i in range(count):  # known customers whose local time is daytime, so quiet hours hold nothing
        session.add(Contact(account_id=tenant.account.id, phone=f"+1628555{i + 1000:04d}", timezone=daytime_zone()))
    session.commit()
    for i in range(count):  # alternately on web A and web B
        body = json.dumps({
            "id": f"evt_cluster_{i}", "type": "session.abandoned",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "session": {"id": f"sess_cluster_{i}", "url": f"https://book.example.com/s/{i}"},
            "contact": {"name": f"Customer {i}", "phone": f"+1628555{i + 1000:04d}"},
            "job": {"type": "Drain cleaning"}}).encode()
        stamp = str(int(time.time()))
        answer = httpx.post(f"{cluster[i % 2]}/webhooks/scheduler", content=body, headers={
            "Content-Type": "application/json", "X-Textdesk-Account": str(tenant.account.id),
            "X-Textdesk-Timestamp": stamp, "X-Textdesk-Signature": sign(tenant.account.webhook_secret, stamp, body)})
        assert answer.status_code in (200, 202), answer.text
    outbound = select(Message.contact_id, func.count()).where(
        Message.account_id == tenant.account.id, Message.direction == "outbound").group_by(Message.contact_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        per_contact = dict(session.execute(outbound).all())
        session.commit()
        if len(per_contact) == count:
            break
        time.sleep(0.5)
    time.sleep(2)  # a duplicate, if any, would land now
    per_contact = dict(session.execute(outbound).all())
    assert len(per_contact) == count and set(per_contact.values()) == {1}, per_contact
