"""Fault test: PostgreSQL away for 20 s while signed texts arrive at 10 per second.

PostgreSQL only: SQLite is a local file and cannot be "away". Starts a private redis-server, a small
TCP proxy (asyncio, in this script) in front of the PostgreSQL given, and a private textdesk (one
web process and one worker) whose TEXTDESK_DATABASE_URL points at the proxy. For 50 s it posts
signed inbound texts at 10/s and probes /healthz and /readyz every 0.5 s. At 10 s it cuts the
proxy (every connection closed, new ones refused) and restores it at 30 s.

What is queued when the database goes: 1 s before the cut a rep replies on five threads of a
number registered for 1 text per second, so pacing spreads the five sends over the cut: those
after it can only go out once the database is back. During the outage a customer texts HELP and
another STOP: both are answered 503 (a compliance text is never spooled) and posted again after
the outage with the same MessageSid, as Twilio does with the `#rc=5&rp=5xx` override.

It checks, and exits non-zero when one fails:
- /healthz answered 200 throughout, /readyz 503 naming the database while it was away;
- every text was answered 2xx or 503 (nothing else), every 503 was posted again, and every text is
  stored exactly once: 0 lost, 0 duplicates;
- the texts spooled during the outage were stored, and the replies and the HELP and STOP
  confirmations were sent, each within 10 s of the database's return (the times are printed).

    .venv/bin/python benchmarks/fault_database_outage.py [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fault_redis_outage import _when, post_text, start_redis  # noqa: E402
from benchmarks.harness import Textdesk, free_port  # noqa: E402

SLOW_NUMBER = "+14155550101"  # 1 text per second: the rep's replies are paced across the cut
DOWN_AT, RUN_FOR, REPLIES = 10.0, 50.0, 5


class CuttableProxy:
    """A TCP proxy to PostgreSQL in its own event-loop thread; `cut` drops every connection and
    refuses new ones (the listening socket is closed), `restore` listens again on the same port."""

    def __init__(self, port: int, target_host: str, target_port: int) -> None:
        self.port, self.target = port, (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.transports: set[asyncio.BaseTransport] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.restore()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, up_writer.transport}
        self.transports |= pair
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.transports -= pair

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for transport in list(self.transports):
            transport.abort()  # an RST on both sides: the client sees the server go, PostgreSQL the client

    def restore(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut(), self.loop).result(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://root@127.0.0.1:5432/fault_db",
                        help="a PostgreSQL database this script may empty (default: %(default)s)")
    parser.add_argument("--outage", type=float, default=20.0)
    args = parser.parse_args()
    real = make_url(args.database_url)
    if not real.drivername.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: SQLite is a local file and cannot be away")
    proxy = CuttableProxy(free_port(), real.host or "127.0.0.1", real.port or 5432)
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-dbfault-"))
    redis_port = free_port()
    redis_process = start_redis(redis_port, tmp)
    watch = create_engine(args.database_url)  # the script's own view, not through the proxy
    up_at = DOWN_AT + args.outage
    answers: list[tuple[str, float, int]] = []  # sid, when answered (s from start), status
    probes: list[tuple[float, int, int, Any]] = []
    try:
        with Textdesk(tmp, proxied, f"redis://127.0.0.1:{redis_port}/0") as td:
            td.cli("number", "add", str(td.account_id), SLOW_NUMBER, "--transactional", "--mps", "1")
            td.cli("user", "create", str(td.account_id), "rep@fault.test", "--password-stdin", "--role", "admin",
                   stdin="fault test password\n")
            token = td.cli("token", "create", "rep@fault.test")["token"]
            auth = {"Authorization": f"Bearer {token}"}
            url, client = td.urls[0], httpx.Client()
            for i in range(REPLIES):  # five customers of the slow number, each with a thread to reply on
                assert post_text(client, url, td.public_url, f"SMdbsetup{i:025d}", f"+1415555{300 + i:04d}",
                                 "can you come today?", to=SLOW_NUMBER) == 200
            threads = [t["id"] for t in client.get(f"{url}/api/v1/threads", headers=auth).json()]
            assert len(threads) == REPLIES, threads
            start = time.monotonic()
            stop = threading.Event()

            def probe() -> None:
                with httpx.Client() as c:
                    while not stop.is_set():
                        h = c.get(f"{url}/healthz", timeout=10).status_code
                        r = c.get(f"{url}/readyz", timeout=10)
                        probes.append((time.monotonic() - start, h, r.status_code, r.json()))
                        time.sleep(0.5)

            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
            cut = replied = False
            returned_wall = retried_wall = 0.0
            forms: dict[str, tuple[str, str]] = {}  # sid -> sender and body, to post a 503 again
            special = False
            retried: dict[str, int] = {}
            backlog: dict[str, float] = {}
            n = 0
            while (now := time.monotonic() - start) < RUN_FOR:
                if not replied and now >= DOWN_AT - 1:
                    for i, thread_id in enumerate(threads):
                        answer = client.post(f"{url}/api/v1/threads/{thread_id}/messages", headers=auth,
                                             json={"body": f"On our way, customer {i}"}, timeout=30)
                        assert answer.status_code in (200, 201), answer.text
                    replied = True
                if not cut and now >= DOWN_AT:
                    proxy.cut()
                    cut = True
                    print(f"{now:5.1f} s: database cut", flush=True)
                if cut and not returned_wall and now >= up_at:
                    proxy.restore()
                    returned_wall = time.time()
                    print(f"{now:5.1f} s: database back", flush=True)
                    spooled = {sid for sid, at, status in answers if 200 <= status < 300 and at >= DOWN_AT}
                    watcher = threading.Thread(target=watch_backlog, args=(watch, spooled, backlog), daemon=True)
                    watcher.start()
                if returned_wall and not retried_wall and now >= up_at + 1:
                    # What the provider does with a 503 (the `#rc=5&rp=5xx` override): the same text again.
                    retried_wall = time.time()
                    retried = {sid: post_text(client, url, td.public_url, sid, *forms[sid])
                               for sid, _, status in answers if status == 503}
                if not special and now >= DOWN_AT + 5:
                    for word, sender in (("HELP", "+14155550191"), ("STOP", "+14155550192")):
                        sid = f"SMdb{word.lower()}{0:026d}"
                        forms[sid] = (sender, word)
                        answers.append((sid, time.monotonic() - start,
                                        post_text(client, url, td.public_url, sid, sender, word)))
                    special = True
                sid = f"SMdbout{n:027d}"
                forms[sid] = (f"+1415555{200 + n % 50:04d}", f"text {n}")
                status = post_text(client, url, td.public_url, sid, *forms[sid])
                answers.append((sid, time.monotonic() - start, status))
                n += 1
                time.sleep(max(0.0, start + n / 10 - time.monotonic()))
            late = {sid: post_text(client, url, td.public_url, sid, *forms[sid])
                    for sid, _, status in answers if status == 503 and sid not in retried}
            retried.update(late)
            stop.set()
            prober.join(5)
            watcher.join(60)
            with watch.connect() as conn:
                inbound = [row[0] for row in conn.execute(text(
                    "SELECT provider_sid FROM messages WHERE direction = 'inbound'"))]
                outbound = conn.execute(text("SELECT body, status, sent_at, provider_sid FROM messages "
                                             "WHERE direction = 'outbound' ORDER BY id")).all()
    finally:
        watch.dispose()
        if redis_process.poll() is None:
            redis_process.terminate()
            redis_process.wait(10)
    report(answers, retried, spooled, inbound, outbound, probes, up_at, returned_wall, retried_wall,
           backlog)


def watch_backlog(watch: Any, spooled: set[str], backlog: dict[str, float]) -> None:
    """From the database's return: when every text spooled during the outage is stored, and when every
    reply and confirmation has been sent (wall-clock times, into `backlog`)."""
    deadline = time.monotonic() + 80
    while time.monotonic() < deadline and len(backlog) < 2:
        with watch.connect() as conn:
            stored = {row[0] for row in conn.execute(text(
                "SELECT provider_sid FROM messages WHERE direction = 'inbound'"))}
            waiting = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'outbound' "
                                        "AND status IN ('queued', 'sending')")).scalar_one()
            confirmations = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'outbound' "
                                              "AND sender = 'system'")).scalar_one()
        if "stored" not in backlog and spooled <= stored:
            backlog["stored"] = time.time()
        if "sent" not in backlog and not waiting and confirmations >= 2:
            backlog["sent"] = time.time()
        time.sleep(0.2)


def report(answers: list[tuple[str, float, int]], retried: dict[str, int], spooled: set[str], inbound: list[str],
           outbound: list[Any], probes: list[tuple[float, int, int, Any]], up_at: float, returned: float,
           retried_at: float, backlog: dict[str, float]) -> None:
    statuses = [status for _, _, status in answers]
    ok_2xx = sum(1 for s in statuses if 200 <= s < 300)
    other = [s for s in statuses if not (200 <= s < 300 or s == 503)]
    accepted = {sid for sid, _, s in answers if 200 <= s < 300} | {sid for sid, s in retried.items() if 200 <= s < 300}
    posted = {sid for sid, _, _ in answers}
    lost = posted - set(inbound)
    duplicates = len(inbound) - len(set(inbound))
    health_bad = [p for p in probes if p[1] != 200]
    during = [p for p in probes if DOWN_AT + 1 < p[0] < up_at - 1]
    ready_during = sorted({p[2] for p in during})
    named = all("database unreachable" in (p[3].get("problems") or []) for p in during)
    replies = [row for row in outbound if row.body.startswith("On our way")]
    confirmations = [row for row in outbound if not row.body.startswith("On our way")]
    after_return = [row for row in replies if row.sent_at and _when(row.sent_at) >= returned]
    print(f"texts posted {len(answers)}: answered 2xx {ok_2xx} (spooled during the outage {len(spooled)}), "
          f"503 {statuses.count(503)} (posted again after it: {sum(1 for s in retried.values() if 200 <= s < 300)} "
          f"answered 2xx), other {len(other)} {sorted(set(other))}")
    print(f"stored {len(set(inbound) & posted)} of {len(posted)} posted: lost {len(lost)}, duplicates {duplicates}")
    print(f"/healthz non-200 answers: {len(health_bad)} of {len(probes)}; /readyz during the outage: {ready_during} "
          f"({len(during)} probes{', naming the database' if named else ', NOT naming the database'})")
    sent = sum(r.status in ("sent", "delivered") for r in replies)
    print(f"replies queued 1 s before the cut: {len(replies)}, sent {sent}"
          f" ({len(after_return)} only after the database returned); confirmations (HELP, STOP) sent "
          f"{sum(r.status in ('sent', 'delivered') for r in confirmations)} of {len(confirmations)}")
    stored_after = backlog["stored"] - returned if "stored" in backlog else float("inf")
    replies_after = max((_when(r.sent_at) for r in replies if r.sent_at), default=float("inf")) - returned
    help_stop = [_when(r.sent_at) - retried_at for r in confirmations if r.sent_at]
    print(f"after the database returned: every text spooled during the outage stored in {stored_after:.1f} s; "
          f"the last queued reply sent {replies_after:.1f} s after it (pacing: 1 text/s on that number); "
          f"HELP and STOP confirmations sent {', '.join(f'{t:.1f}' for t in help_stop)} s after the provider's "
          f"retry; nothing left queued: {'sent' in backlog}")
    ok = (not lost and not duplicates and not other and not health_bad and ready_during == [503] and named
          and len(spooled) > 0 and all(200 <= s < 300 for s in retried.values()) and set(retried) >= {
              sid for sid, _, s in answers if s == 503}
          and len(replies) == REPLIES and all(r.status in ("sent", "delivered") and r.provider_sid for r in replies)
          and len(after_return) >= 1 and len(confirmations) == 2
          and all(r.status in ("sent", "delivered") for r in confirmations)
          and stored_after <= 10 and replies_after <= 10 and "sent" in backlog and accepted >= posted)
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
