"""Fault test: Redis stopped for 30 s while texts arrive at 10 per second.

Starts a private redis-server on a free port and a private textdesk (one web process and one worker,
on a temporary SQLite file or the PostgreSQL given), then for 60 s posts signed inbound texts at
10/s and probes /healthz and /readyz every 0.5 s. At 10 s it stops Redis (SIGKILL: nothing is saved)
and restarts it empty at 40 s. During the outage a rep replies on a thread and a customer texts STOP.

It checks, and exits non-zero when one fails:
- /healthz answered 200 throughout, /readyz 503 while Redis was down;
- every text was answered 2xx and stored (or answered so the provider retries): 0 lost;
- the rep's reply and the STOP confirmation, queued while Redis was away, were sent after it came back,
  and how long that took.

    .venv/bin/python benchmarks/fault_redis_outage.py [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import AUTH_TOKEN, BUSINESS, Textdesk, free_port  # noqa: E402
from webhooks.signatures import twilio_signature  # noqa: E402

REDIS_SERVER = "redis-server"


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import redis

            redis.Redis(port=port).ping()
            return process
        except Exception:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _when(value: object) -> float:
    """A stored timestamp (a datetime, or SQLite's text) as unix seconds."""
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def post_text(client: httpx.Client, url: str, public_url: str, sid: str, sender: str, body: str,
              to: str = BUSINESS) -> int:
    """A signed inbound text, as Twilio posts it; its status code (0 when no answer came)."""
    form = [("MessageSid", sid), ("AccountSid", "AC" + "0" * 32), ("From", sender), ("To", to),
            ("Body", body), ("NumMedia", "0")]
    signature = twilio_signature(AUTH_TOKEN, public_url + "/webhooks/twilio/messages", form)
    try:
        return client.post(f"{url}/webhooks/twilio/messages", data=dict(form),
                           headers={"X-Twilio-Signature": signature}, timeout=30).status_code
    except httpx.HTTPError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--outage", type=float, default=30.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-fault-"))
    port = free_port()
    redis_process = start_redis(port, tmp)
    statuses: list[tuple[str, int]] = []
    probes: list[tuple[float, int, int]] = []
    with Textdesk(tmp, args.database_url, f"redis://127.0.0.1:{port}/0") as td:
        td.cli("user", "create", str(td.account_id), "rep@fault.test", "--password-stdin", "--role", "admin",
               stdin="fault test password\n")
        token = td.cli("token", "create", "rep@fault.test")["token"]
        url, client = td.urls[0], httpx.Client()
        first = post_text(client, url, td.public_url, "SMfault-setup-0000000000000000000", "+14155550190", "hello")
        assert first == 200
        threads = httpx.get(f"{url}/api/v1/threads", headers={"Authorization": f"Bearer {token}"}).json()
        thread_id = threads[0]["id"]
        start = time.monotonic()
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client() as c:
                while not stop.is_set():
                    h = c.get(f"{url}/healthz", timeout=10).status_code
                    r = c.get(f"{url}/readyz", timeout=10).status_code
                    probes.append((time.monotonic() - start, h, r))
                    time.sleep(0.5)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        down_at, up_at = 10.0, 10.0 + args.outage
        reply_id = stop_sid = None
        n = 0
        while time.monotonic() - start < up_at + 20:
            now = time.monotonic() - start
            if redis_process is not None and down_at <= now < up_at and redis_process.poll() is None:
                redis_process.kill()
                redis_process.wait()
                print(f"{now:5.1f} s: redis stopped", flush=True)
            if now >= up_at and redis_process.poll() is not None:
                redis_process = start_redis(port, tmp)
                redis_up = time.time()
                print(f"{now:5.1f} s: redis back (empty)", flush=True)
            if down_at + 5 <= now and reply_id is None:
                answer = client.post(f"{url}/api/v1/threads/{thread_id}/messages", json={"body": "On our way"},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
                reply_id = answer.json().get("id") if answer.status_code in (200, 201) else -answer.status_code
                stop_sid = f"SMfault-stop-{n:020d}"
                statuses.append((stop_sid, post_text(client, url, td.public_url, stop_sid, "+14155550191", "STOP")))
            sid = f"SMfault{n:027d}"
            statuses.append((sid, post_text(client, url, td.public_url, sid, f"+1415555{200 + n % 50:04d}",
                                            f"text {n}")))
            n += 1
            time.sleep(max(0.0, start + n / 10 - time.monotonic()))
        stop.set()
        prober.join(5)
        engine = create_engine(td.database_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                waiting = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'outbound' "
                                            "AND status IN ('queued', 'sending')")).scalar_one()
            if not waiting:
                break
            time.sleep(0.5)
        with engine.connect() as conn:
            stored = {row[0] for row in conn.execute(text("SELECT provider_sid FROM messages WHERE direction = 'inbound'"))}
            outbound = conn.execute(text("SELECT body, status, sent_at FROM messages WHERE direction = 'outbound'")).all()
        engine.dispose()
    if redis_process.poll() is None:
        redis_process.terminate()
    accepted = [sid for sid, status in statuses if 200 <= status < 300]
    retry = [sid for sid, status in statuses if status in (0, 429) or status >= 500]
    lost = [sid for sid in accepted if sid not in stored]
    health_bad = [p for p in probes if p[1] != 200]
    ready_during = [p[2] for p in probes if down_at + 1 < p[0] < up_at - 1]
    print(f"texts posted {len(statuses)}: answered 2xx {len(accepted)}, answered so the provider retries "
          f"{len(retry)}, other {len(statuses) - len(accepted) - len(retry)}; stored {len(stored & set(accepted))}; "
          f"lost {len(lost)}")
    print(f"/healthz non-200 answers: {len(health_bad)} of {len(probes)}; /readyz during the outage: "
          f"{sorted(set(ready_during))}")
    print(f"outbound texts: {sorted((body[:40], status) for body, status, _ in outbound)}")
    last = max((_when(sent) for _, _, sent in outbound if sent), default=redis_up)
    print(f"everything queued while Redis was away went out {last - redis_up:.1f} s after it came back "
          f"(rep reply id {reply_id})")
    ok = (not lost and not health_bad and set(ready_during) == {503}
          and all(status in ("sent", "delivered") for _, status, _ in outbound) and len(outbound) >= 2
          and last - redis_up <= 10)
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
