"""Realtime latency: from a signed inbound webhook to a rep's browser socket.

Starts a private textdesk (`textdesk serve` on a free loopback port, a temporary SQLite database
and its own embedded Redis and worker), logs N websocket clients in through /login, posts M signed
Twilio webhooks per second for S seconds, and prints p50/p99/max latency from the start of the
webhook request to each client's receipt of the `message.created` event, plus the server's memory
per connection. Everything is on 127.0.0.1 and torn down at the end; a hard time limit bounds it.

    .venv/bin/python benchmarks/realtime_latency.py --clients 200 --rate 100 --seconds 10

Target: p99 <= 50 ms with 200 clients at 100 texts/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from webhooks.signatures import twilio_signature  # noqa: E402  (after the path is set)

AUTH_TOKEN = "bench-auth-token"
BUSINESS = "+14155550100"
EMAIL = "bench@textdesk.example"
PASSWORD = "benchmark password"
MARKER = "bench-"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "web.cli", *args, "--json"], cwd=ROOT, env=env, input=stdin,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _seed(env: dict[str, str]) -> None:
    account = _cli(env, "account", "create", "Bench Plumbing", "--timezone", "America/Los_Angeles")
    _cli(env, "number", "add", str(account["id"]), BUSINESS, "--transactional")
    _cli(env, "user", "create", str(account["id"]), EMAIL, "--password-stdin", stdin=PASSWORD + "\n")


def _start_server(env: dict[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    host, port = url.removeprefix("http://").split(":")
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--host", host, "--port", port],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"textdesk serve exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("textdesk serve did not start within 60 s")


# ---- websocket clients (in worker processes, so the clients are not the bottleneck) ---------------

async def _client_main(url: str, count: int, ready: Any, stop: Any, results: Any) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    received: list[tuple[int, float]] = []
    sockets = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(count):
            response = await http.post("/login", data={"email": EMAIL, "password": PASSWORD},
                                       follow_redirects=False)
            cookie = response.cookies.get("textdesk_session")
            assert response.status_code == 303 and cookie, response.text
            http.cookies.clear()
            ws = await connect(url.replace("http://", "ws://") + "/ws", max_size=2**20,
                               additional_headers={"Cookie": f"textdesk_session={cookie}"})
            sockets.append(ws)

    async def listen(ws: Any) -> None:
        try:
            async for frame in ws:
                now = time.monotonic()
                if '"message.created"' in frame and MARKER in frame:
                    body = json.loads(frame)["payload"]["body"]
                    if body.startswith(MARKER):
                        received.append((int(body[len(MARKER):]), now))
        except ConnectionClosed:  # the server went away; the missing deliveries are reported
            return

    tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
    await asyncio.sleep(0.5)  # every socket subscribed before the load starts
    ready.release()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for ws in sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    results.put(received)


def _client_process(url: str, count: int, ready: Any, stop: Any, results: Any) -> None:
    asyncio.run(_client_main(url, count, ready, stop, results))


# ---- load -----------------------------------------------------------------------------------------

async def _send_load(url: str, rate: int, seconds: float) -> tuple[dict[int, float], list[float], list[str]]:
    sent: dict[int, float] = {}
    answered: list[float] = []
    failed: list[str] = []
    total = round(rate * seconds)
    customers = [f"+1415555{2000 + i:04d}" for i in range(50)]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        async def one(i: int) -> None:
            fields = [("AccountSid", "AC" + "0" * 32), ("Body", f"{MARKER}{i}"), ("From", customers[i % 50]),
                      ("MessageSid", f"SM{i:032d}"), ("NumMedia", "0"), ("To", BUSINESS)]
            signature = twilio_signature(AUTH_TOKEN, f"{url}/webhooks/twilio/messages", fields)
            sent[i] = time.monotonic()
            try:
                response = await http.post("/webhooks/twilio/messages", data=dict(fields),
                                           headers={"X-Twilio-Signature": signature})
            except httpx.HTTPError as exc:  # an overloaded server drops connections: count it, keep going
                failed.append(f"webhook {i}: {type(exc).__name__}")
                return
            answered.append((time.monotonic() - sent[i]) * 1000)
            if response.status_code != 200:
                failed.append(f"webhook {i}: {response.status_code} {response.text[:200]}")

        start = time.monotonic()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return sent, answered, failed


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="textdesk-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTDESK_", "TWILIO_", "OPENAI_"))}
        env |= {"TEXTDESK_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
                "TEXTDESK_DATA_DIR": f"{tmp}/data", "TEXTDESK_ENV_FILE": f"{tmp}/none.env",
                "TEXTDESK_PUBLIC_URL": url, "TEXTDESK_SMS_PROVIDER": "dev",
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TEXTDESK_SECRET_KEY": "bench-secret"}
        _seed(env)
        server = _start_server(env, url, Path(tmp) / "server.log")
        procs: list[Any] = []
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        try:
            rss_before = _rss_kib(server.pid)
            ready, results = ctx.Semaphore(0), ctx.Queue()
            per = [args.clients // args.procs + (1 if i < args.clients % args.procs else 0)
                   for i in range(args.procs)]
            procs = [ctx.Process(target=_client_process, args=(url, n, ready, stop, results))
                     for n in per if n]
            for p in procs:
                p.start()
            for _ in procs:
                if not ready.acquire(timeout=120):
                    raise SystemExit("websocket clients did not connect within 120 s")
            rss_connected = _rss_kib(server.pid)
            sent, answered, failed = asyncio.run(_send_load(url, args.rate, args.seconds))
            time.sleep(args.drain)
            rss_after = _rss_kib(server.pid)
            stop.set()
            received: list[tuple[int, float]] = []
            for _ in procs:
                received.extend(results.get(timeout=60))
        finally:
            stop.set()
            stop_procs(procs)
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    latencies = [(t - sent[i]) * 1000 for i, t in received if i in sent]
    print(f"clients={args.clients} rate={args.rate}/s seconds={args.seconds} webhooks={len(sent)}")
    print(f"webhooks failed: {len(failed)}" + (f" (first: {failed[0]})" if failed else ""))
    expected = (len(sent) - len(failed)) * args.clients
    print(f"deliveries: {len(latencies)} of {expected} expected ({expected - len(latencies)} missing)")
    if latencies:
        print(f"latency ms: p50={statistics.median(latencies):.1f} p99={_percentile(latencies, 0.99):.1f} "
              f"max={max(latencies):.1f}")
    print(f"webhook response ms: p50={statistics.median(answered):.1f} p99={_percentile(answered, 0.99):.1f}")
    per_conn = (rss_connected - rss_before) / max(1, args.clients)
    print(f"server RSS: {rss_before / 1024:.1f} MiB idle, {rss_connected / 1024:.1f} MiB with {args.clients} "
          f"sockets, {rss_after / 1024:.1f} MiB after load; {per_conn:.1f} KiB per connection")


def stop_procs(procs: list[Any]) -> None:
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
            p.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=100, help="inbound webhooks per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--drain", type=float, default=3, help="seconds to wait for the last events")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--time-limit", type=int, default=300, help="abort after this many seconds")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("time limit reached")))
    signal.alarm(args.time_limit)
    run(args)


if __name__ == "__main__":
    main()
