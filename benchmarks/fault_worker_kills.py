"""Fault test: workers SIGKILLed while reps' replies go out.

Starts a private redis-server, a fake Twilio (a local HTTP server answering Twilio's documented
Messages API: POST creates a text after 50–150 ms and answers 201 with a new sid and status
`queued`, then posts a signed `delivered` status callback to textdesk; GET lists the texts it
accepted, filtered by To, From and DateSent>), and a private textdesk on PostgreSQL with one web
process and two workers, TEXTDESK_SMS_PROVIDER=twilio pointed at the fake.

Customers text in on many threads; then reps send replies through the JSON API at a steady rate,
each with a body of its own. Meanwhile a worker is SIGKILLed (with the RQ scheduler it forked, as
when its container is lost) at spread-out moments, preferably one in the middle of a provider
call, and started again at once, so two run most of the time.

It checks, and exits non-zero when one fails:
- 0 duplicates: no two texts accepted by the fake with the same To and Body;
- every reply was accepted by the fake once, and its row holds that sid and is `delivered`;
- 0 rows left `queued` or `sending`;
- all of it settled (the last row stored as delivered) within 30 s of the last kill.

    .venv/bin/python benchmarks/fault_worker_kills.py [--database-url postgresql+psycopg://…] [--texts 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from redis import Redis
from rq.scheduler import RQScheduler
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fault_redis_outage import post_text, start_redis  # noqa: E402
from benchmarks.harness import AUTH_TOKEN, PUBLIC_URL, Textdesk, free_port  # noqa: E402
from webhooks.signatures import twilio_signature  # noqa: E402

ACCOUNT_SID = "AC" + "f" * 32
SETTLE_WITHIN = 30.0  # seconds after the last kill


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed worker's connection reset mid-request is expected here


class FakeTwilio:
    """Twilio's Messages resource, in a thread: what it accepted, when, and from which client port."""

    def __init__(self, refuse: float = 0.0) -> None:
        self.web_url = ""  # where status callbacks go (set once textdesk serves)
        self.refuse = refuse  # the share of texts answered 429 on their first attempt
        self.refused: set[str] = set()
        self.accepted: list[dict[str, object]] = []
        self.in_flight: dict[int, float] = {}  # client port → when its POST arrived
        self.lookups = 0
        self.lock = threading.Lock()
        self.callbacks: list[tuple[float, str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, data: dict[str, object]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                port = self.client_address[1]
                with fake.lock:
                    fake.in_flight[port] = time.time()
                try:
                    form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                    time.sleep(random.uniform(0.05, 0.15))  # the provider's own latency
                    if form["Body"] not in fake.refused and random.random() < fake.refuse:
                        fake.refused.add(form["Body"])  # not accepted: textdesk's retry (RQ's scheduler) resends it
                        self._answer(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
                        return
                    item = {"sid": "SM" + uuid.uuid4().hex, "to": form["To"], "from": form.get("From"),
                            "body": form["Body"], "status": "queued", "direction": "outbound-api",
                            "date_sent": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                            "account_sid": ACCOUNT_SID, "accepted_at": time.time()}
                    with fake.lock:
                        fake.accepted.append(item)
                        fake.callbacks.append((time.time() + 0.3, str(item["sid"]), str(form["To"])))
                    self._answer(201, {k: v for k, v in item.items() if k != "accepted_at"})
                except OSError:
                    pass  # the worker was killed meanwhile: the text is accepted all the same
                finally:
                    with fake.lock:
                        fake.in_flight.pop(port, None)

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                since = query.get("DateSent>", "")
                with fake.lock:
                    fake.lookups += 1
                    items = [{k: v for k, v in m.items() if k != "accepted_at"} for m in fake.accepted
                             if m["to"] == query.get("To") and query.get("From") in (None, m["from"])
                             and time.strftime("%Y-%m-%d", time.gmtime(float(m["accepted_at"]))) >= since]  # type: ignore[arg-type]
                self._answer(200, {"messages": items[::-1], "page": 0, "page_size": 100})

        self.port = free_port()
        self.server = _QuietServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.port}"
        self.stop = threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._send_callbacks, daemon=True).start()

    def _send_callbacks(self) -> None:
        """Twilio's status callbacks: `delivered`, signed against textdesk's public URL."""
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                with self.lock:
                    due = [c for c in self.callbacks if c[0] <= time.time()]
                    self.callbacks = [c for c in self.callbacks if c[0] > time.time()]
                for _, sid, to in due:
                    form = [("MessageSid", sid), ("MessageStatus", "delivered"), ("AccountSid", ACCOUNT_SID),
                            ("To", to), ("ApiVersion", "2010-04-01")]
                    signature = twilio_signature(AUTH_TOKEN, PUBLIC_URL + "/webhooks/twilio/status", form)
                    client.post(f"{self.web_url}/webhooks/twilio/status", data=dict(form),
                                headers={"X-Twilio-Signature": signature})
                time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()


def _socket_ports(pid: int) -> set[int]:
    """Local TCP ports of the loopback sockets process `pid` holds (from /proc)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _pick_victim(workers: list[subprocess.Popen[bytes]], fake: FakeTwilio) -> tuple[int, bool]:
    """A worker in the middle of a provider call if one is (waiting up to 1 s for one), else any."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        with fake.lock:
            busy = set(fake.in_flight)
        for i in random.sample(range(len(workers)), len(workers)):
            if busy & _socket_ports(workers[i].pid):
                return i, True
        time.sleep(0.01)
    return random.randrange(len(workers)), False


def _holds_scheduler(redis: Redis, worker: subprocess.Popen[bytes]) -> bool:
    """Whether the RQ scheduler holding the queue's lock is this worker's (the process it forked)."""
    owner = redis.get(RQScheduler.get_locking_key("default"))
    pid = redis.hget(f"rq:scheduler:{owner.decode()}", "pid") if owner else None
    try:
        return pid is not None and os.getpgid(int(pid)) == worker.pid
    except ProcessLookupError:
        return False


def _listening(log: Path, offset: int) -> bool:
    """Whether the worker logging to `log` from `offset` on has started taking jobs."""
    with open(log, "rb") as f:
        f.seek(offset)
        return b"Listening on" in f.read()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://root@127.0.0.1:5432/fault_kill")
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--threads", type=int, default=40, help="customers (threads) the replies go to")
    parser.add_argument("--rate", type=float, default=2.5, help="replies per second")
    parser.add_argument("--refuse", type=float, default=0.0,
                        help="share of texts the fake answers 429 on their first attempt (retried by RQ's scheduler)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-kills-"))
    redis_port = free_port()
    redis_process = start_redis(redis_port, tmp)
    fake = FakeTwilio(args.refuse)
    env = {"TEXTDESK_SMS_PROVIDER": "twilio", "TWILIO_API_BASE": fake.url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID}
    replies: dict[int, tuple[str, float]] = {}  # message id → (body, when the API answered 201)
    kills: list[tuple[float, bool, bool]] = []  # when; during a provider call; with RQ's scheduler
    try:
        with Textdesk(tmp, args.database_url, f"redis://127.0.0.1:{redis_port}/0", workers=0, extra_env=env) as td:
            url = fake.web_url = td.urls[0]
            workers = [td.start_worker(f"worker{n}") for n in range(2)]
            since = [0, 0]  # where each worker's log stood when its current process started
            td.cli("user", "create", str(td.account_id), "rep@kills.test", "--password-stdin", "--role", "admin",
                   stdin="fault test password\n")
            auth = {"Authorization": "Bearer " + td.cli("token", "create", "rep@kills.test")["token"]}
            client = httpx.Client(timeout=30)
            for n in range(args.threads):
                assert post_text(client, url, td.public_url, f"SMkills{n:027d}", f"+1415555{3000 + n:04d}",
                                 "hi, can someone come out?") == 200
            thread_ids = [t["id"] for t in client.get(f"{url}/api/v1/threads?limit=500", headers=auth).json()]
            assert len(thread_ids) == args.threads, f"{len(thread_ids)} threads"
            duration = args.texts / args.rate
            print(f"{args.texts} replies over {duration:.0f} s on {args.threads} threads, "
                  f"{args.kills} worker kills", flush=True)

            send_errors: list[str] = []

            def send_replies() -> None:
                with httpx.Client(timeout=30) as c:
                    begin = time.monotonic()
                    for i in range(args.texts):
                        body = f"Reply {i} from the office, ref {uuid.uuid4().hex[:10]}"
                        answer = c.post(f"{url}/api/v1/threads/{thread_ids[i % len(thread_ids)]}/messages",
                                        json={"body": body}, headers=auth)
                        if answer.status_code != 201 or answer.json()["decision"] != "send":
                            send_errors.append(f"{answer.status_code} {answer.text[:200]}")
                            continue
                        replies[answer.json()["id"]] = (answer.json()["body"], time.time())
                        time.sleep(max(0.0, begin + (i + 1) / args.rate - time.monotonic()))

            sender = threading.Thread(target=send_replies)
            start = time.monotonic()
            sender.start()
            for k in range(args.kills):
                at = start + duration * (k + 0.25 + random.uniform(0, 0.5)) / args.kills
                time.sleep(max(0.0, at - time.monotonic()))
                while not all(_listening(tmp / f"worker{n}.log", since[n]) for n in range(2)):
                    time.sleep(0.05)  # a kill lands on a running worker, never on one still starting
                victim, mid_call = _pick_victim(workers, fake)
                had_scheduler = _holds_scheduler(Redis(port=redis_port), workers[victim])
                td.kill_worker(workers[victim])
                kills.append((time.time(), mid_call, had_scheduler))
                since[victim] = (tmp / f"worker{victim}.log").stat().st_size
                workers[victim] = td.start_worker(f"worker{victim}")
                print(f"{time.monotonic() - start:5.1f} s: worker{victim} killed"
                      f"{' during a provider call' if mid_call else ''}"
                      f"{' with the RQ scheduler' if had_scheduler else ''}, restarted", flush=True)
            sender.join()
            last_kill = kills[-1][0]
            engine = create_engine(td.database_url)
            settled_at = None
            while time.time() < last_kill + SETTLE_WITHIN + 30:
                with engine.connect() as conn:
                    open_rows = conn.execute(text(
                        "SELECT count(*) FROM messages WHERE direction = 'outbound' "
                        "AND (provider_sid IS NULL OR status <> 'delivered')")).scalar_one()
                if not open_rows and len(replies) == args.texts:
                    settled_at = time.time()
                    break
                time.sleep(0.25)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, body, status, provider_sid FROM messages "
                                         "WHERE direction = 'outbound'")).all()
            engine.dispose()
    finally:
        fake.close()
        redis_process.kill()
        redis_process.wait()
    accepted_by_text: dict[tuple[str, str], list[dict[str, object]]] = {}
    for item in fake.accepted:
        accepted_by_text.setdefault((str(item["to"]), str(item["body"])), []).append(item)
    duplicates = sum(len(items) - 1 for items in accepted_by_text.values())
    by_body = {str(item["body"]): item for item in fake.accepted}
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    unsent = [row.id for row in rows if row.body not in by_body]
    wrong_sid = [row.id for row in rows if row.body in by_body and row.provider_sid != by_body[row.body]["sid"]]
    latency = [float(by_body[body]["accepted_at"]) - queued for body, queued in replies.values()  # type: ignore[arg-type]
               if body in by_body]
    last_out = max((float(item["accepted_at"]) for item in fake.accepted), default=float("nan"))  # type: ignore[arg-type]
    if send_errors:
        print(f"replies refused by the API: {len(send_errors)}, first: {send_errors[0]}")
    sending_end = max((queued for _, queued in replies.values()), default=0.0)
    print(f"kills: {len(kills)}, {sum(k[1] for k in kills)} during a provider call, {sum(k[2] for k in kills)} "
          f"of the worker running RQ's scheduler, {sum(k[0] <= sending_end for k in kills)} while replies were "
          f"still being sent; texts refused once (429) and retried: {len(fake.refused)}")
    print(f"replies stored {len(rows)} of {args.texts}; accepted by the provider {len(fake.accepted)} "
          f"({len(accepted_by_text)} distinct); duplicates {duplicates}; never sent {len(unsent)}; "
          f"row without the provider's sid {len(wrong_sid)}")
    print(f"final statuses: {statuses}; texts a killed worker left `sending` that recovery looked up in the "
          f"provider's list: {fake.lookups}")
    print(f"queued → accepted by the provider: p50 {_percentile(latency, 0.5):.2f} s, "
          f"p99 {_percentile(latency, 0.99):.2f} s, max {max(latency, default=float('nan')):.2f} s")
    print(f"last text accepted {last_out - last_kill:.1f} s after the last kill; all rows delivered "
          + (f"{settled_at - last_kill:.1f} s after it" if settled_at else f"NOT within {SETTLE_WITHIN + 30:.0f} s"))
    ok = (duplicates == 0 and len(rows) == args.texts == len(replies) and not unsent and not wrong_sid
          and statuses == {"delivered": args.texts} and settled_at is not None
          and settled_at - last_kill <= SETTLE_WITHIN)
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
