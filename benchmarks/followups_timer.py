"""Follow-up timer benchmark: N abandoned sessions due within one window, real Redis and RQ workers.

Loopback only: a private embedded Redis on a unix socket, a throw-away SQLite file (or the
PostgreSQL URL given with --database-url), the `dev` SMS provider, `textdesk worker` processes.
Events are fed through the scheduler webhook's own verify/parse and followups.sessions, each in
its own transaction, at the moment the widget would have sent them. Prints p50/p99/max lag
between due and sent, duplicates, lost, and the highest per-number rate seen in any one second.

    .venv/bin/python benchmarks/followups_timer.py --count 10000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=10000, help="abandoned sessions (default 10000)")
    p.add_argument("--spread", type=float, default=60.0, help="seconds over which they fall due (default 60)")
    p.add_argument("--delay", type=int, default=5, help="follow-up delay in seconds (default 5)")
    p.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2) + 1),
                   help="`textdesk worker` processes (default: CPUs + 1)")
    p.add_argument("--numbers", type=int, default=4, help="sending numbers on the account (default 4)")
    p.add_argument("--mps", type=int, default=60, help="messages per second each number may send (default 60)")
    p.add_argument("--feeders", type=int, default=2, help="threads feeding events (default 2)")
    p.add_argument("--at-once", action="store_true",
                   help="every follow-up due at the same instant (events fed ahead; use a --delay longer than "
                        "feeding takes); reports the last text's time after that instant against what pacing needs")
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (it is emptied); default: a temp SQLite file")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="stop feeding and waiting this many seconds after the last due time (default 120)")
    return p.parse_args()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def max_per_second(times: list[float]) -> int:
    """The most events in any sliding one-second window."""
    ordered, best, start = sorted(times), 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-bench-"))
    os.environ.update({
        "TEXTDESK_ENV_FILE": str(tmp / "none.env"), "TEXTDESK_DATA_DIR": str(tmp / "data"),
        "TEXTDESK_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
        "TEXTDESK_PUBLIC_URL": "http://127.0.0.1:8000", "TEXTDESK_SMS_PROVIDER": "dev",
        "TEXTDESK_SECRET_KEY": "bench", "TEXTDESK_FOLLOWUP_DELAY_SECONDS": str(args.delay),
    })
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TEXTDESK_REDIS_URL"):
        os.environ.pop(name, None)
    from core.embedded_redis import EmbeddedRedis

    redis_server = EmbeddedRedis(tmp / "redis")
    os.environ["TEXTDESK_REDIS_URL"] = redis_server.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        return run(args, tmp, workers)
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path, workers: list[subprocess.Popen[bytes]]) -> int:
    from sqlalchemy import select, text

    from core import db
    from core.migrate import upgrade
    from core.settings import reset_settings
    from followups.models import Followup
    from followups.sessions import session_abandoned
    from inbox.accounts import add_number, create_account
    from inbox.models import Contact, Message
    from tests.followups.helpers import daytime_zone
    from webhooks.scheduler import parse, sign, verify

    reset_settings()
    if db.get_engine().dialect.name == "postgresql":
        with db.get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()
    zone = daytime_zone()  # the benchmark measures timing, not quiet hours
    with db.session_scope() as s:
        account = create_account(s, "Bench Plumbing", "America/Los_Angeles", "https://book.example.com/new?name={name}")
        for i in range(args.numbers):
            add_number(s, account.id, f"+1415555{1000 + i:04d}", transactional=True, mps=args.mps)
        phones = [f"+1628555{i % 10000:04d}" if i < 10000 else f"+1669{2000000 + i:07d}" for i in range(args.count)]
        s.execute(Contact.__table__.insert(), [
            {"account_id": account.id, "phone": p, "name": f"Customer {i}", "timezone": zone, "opted_out": False,
             "created_at": db.utcnow()} for i, p in enumerate(phones)])
        account_id, secret = account.id, account.webhook_secret

    with open(tmp / "workers.log", "wb") as log:  # the children keep their own handle
        for _ in range(args.workers):
            workers.append(subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], cwd=ROOT,
                                            env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT))
    time.sleep(2.0)  # let the workers register and their schedulers start

    start = time.time() + 1.0
    step = args.spread / args.count
    due_at_once = start + args.delay if args.at_once else None
    late_feeds, fed = [0], [0]
    lock = threading.Lock()
    deadline = start + args.spread + args.delay + args.timeout

    def feed(i: int) -> None:
        planned = start + i * step
        if time.time() > deadline:  # bounded: what was not fed by then is reported, not waited for
            return
        pause = planned - time.time()
        if due_at_once is not None:
            planned = start  # every event happened at once; they are fed as fast as possible
        elif pause > 0:
            time.sleep(pause)
        elif pause < -0.5:
            with lock:
                late_feeds[0] += 1
        body = json.dumps({
            "id": f"evt_{i}", "type": "session.abandoned",
            "occurred_at": datetime.fromtimestamp(planned, UTC).isoformat().replace("+00:00", "Z"),
            "session": {"id": f"sess_{i}", "url": f"https://book.example.com/s/sess_{i}"},
            "contact": {"name": f"Customer {i}", "phone": phones[i]}, "job": {"type": "Drain cleaning"},
        }).encode()
        ts = str(int(time.time()))
        headers = {"x-textdesk-account": str(account_id), "x-textdesk-timestamp": ts,
                   "x-textdesk-signature": sign(secret, ts, body)}
        with db.session_scope() as s:
            session_abandoned(s, verify(s, headers, body), parse(body))
        with lock:
            fed[0] += 1

    print(f"feeding {args.count} abandoned sessions over {args.spread:.0f} s (delay {args.delay} s, "
          f"{args.workers} workers, {args.numbers} numbers x {args.mps} msg/s, "
          f"{db.get_engine().dialect.name})", flush=True)
    with ThreadPoolExecutor(args.feeders) as pool:
        # Each feeder takes every k-th event so they advance through time together.
        def lane(k: int) -> None:
            for i in range(k, args.count, args.feeders):
                feed(i)

        list(pool.map(lane, range(args.feeders)))
    fed_at = time.time()
    with db.session_scope() as s:
        while time.time() < deadline:
            pending = s.scalar(text("SELECT count(*) FROM followups WHERE status = 'scheduled'"))
            undelivered = s.scalar(text("SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')"))
            s.commit()
            if not pending and not undelivered:
                break
            time.sleep(1.0)
        finished = time.time()
        followups = s.execute(select(Followup.id, Followup.due_at, Followup.sent_at, Followup.status,
                                     Followup.sent_message_id)).all()
        messages = s.execute(select(Message.id, Message.contact_id, Message.from_number, Message.sent_at,
                                    Message.created_at, Message.status)
                             .where(Message.direction == "outbound")).all()
        mps = {phone: rate for phone, rate in s.execute(text("SELECT phone, mps FROM sending_numbers")).all()}

    by_id = {m.id: m for m in messages}
    gate_lag = [(f.sent_at - f.due_at).total_seconds() for f in followups if f.status == "sent"]
    sent_lag = [(by_id[f.sent_message_id].sent_at - f.due_at).total_seconds() for f in followups
                if f.status == "sent" and f.sent_message_id in by_id and by_id[f.sent_message_id].sent_at]
    per_contact = Counter(m.contact_id for m in messages)
    duplicates = sum(n - 1 for n in per_contact.values() if n > 1)
    statuses = Counter(f.status for f in followups)
    from rq.job import Job
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    from core.queue import get_queue, get_redis
    from followups.scheduling import SWEEP_JOB, job_id

    with db.session_scope() as s:
        rows = s.scalars(select(Followup).where(Followup.status == "scheduled")).all()
        # Lost: a follow-up still scheduled with no sweep that would ever send it (an ended sweep is
        # put back by the reconciler). Anything else was merely not done when the benchmark stopped.
        lost = sum(1 for f in rows if not Job.exists(job_id(f.due_at), connection=get_redis()))
    queue = get_queue()
    sweeps = sum(1 for job in queue.get_jobs() + [queue.fetch_job(j) for j in StartedJobRegistry(queue=queue)
                                                  .get_job_ids()] if job is not None and job.func_name == SWEEP_JOB)
    pending = len(rows) - lost
    failed = FailedJobRegistry(queue=get_queue())
    errors = Counter((failed.get_queue().fetch_job(j).exc_info or "?").strip().splitlines()[-1][:120]
                     for j in failed.get_job_ids())
    undelivered = sum(1 for f in followups if f.status == "sent"
                      and not (f.sent_message_id in by_id and by_id[f.sent_message_id].sent_at))
    send_times = defaultdict(list)
    for m in messages:
        if m.sent_at:
            send_times[m.from_number].append(m.sent_at.timestamp())
    end_of_load = (due_at_once or (start + args.spread)) + (0 if due_at_once else args.delay)
    print(f"fed {fed[0]} of {args.count} in {fed_at - start:.1f} s ({late_feeds[0]} fed >0.5 s after their time); "
          f"stopped {finished - end_of_load:.1f} s after the last due time")
    print(f"follow-ups: {dict(statuses)}; messages: {len(messages)}")
    print(f"lag due -> follow-up sent (gate passed): p50 {percentile(gate_lag, .5):.3f} s  "
          f"p99 {percentile(gate_lag, .99):.3f} s  max {max(gate_lag, default=float('nan')):.3f} s")
    print(f"lag due -> provider accepted:            p50 {percentile(sent_lag, .5):.3f} s  "
          f"p99 {percentile(sent_lag, .99):.3f} s  max {max(sent_lag, default=float('nan')):.3f} s")
    print(f"duplicates: {duplicates}   lost: {lost}   still pending when it stopped: {pending} follow-ups, "
          f"{undelivered} texts ({sweeps} sweeps queued or running)")
    for error, n in errors.most_common(3):
        print(f"  failed job runs ({n}): {error}")
    over = False
    for phone in sorted(mps):
        # When the provider took each text: what the carrier counts against the number's rate.
        seen = max_per_second(send_times[phone])
        over = over or seen > mps[phone]
        print(f"  {phone}: limit {mps[phone]}/s, highest seen {seen}/s at the provider")
    if due_at_once is not None:
        if fed_at > due_at_once:
            print(f"  feeding ended {fed_at - due_at_once:.1f} s after the due time: use a longer --delay")
        sent = {m.id: m.sent_at.timestamp() for m in messages if m.sent_at}
        need = args.count / sum(mps.values())
        last = max(sent.values(), default=due_at_once) - due_at_once
        beyond = []  # each text's lag behind its number's ideal schedule (due, due + 1/mps, due + 2/mps, …)
        for phone, times in send_times.items():
            beyond += [t - (due_at_once + k / mps[phone]) for k, t in enumerate(sorted(times))]
        first = min(sent.values(), default=due_at_once) - due_at_once
        print(f"all due at once: first text sent {first:.2f} s and last {last:.1f} s after the due time; "
              f"pacing alone needs {need:.1f} s "
              f"(ratio {last / need:.2f}); lag beyond the pacing schedule p50 {percentile(beyond, .5):.2f} s "
              f"p99 {percentile(beyond, .99):.2f} s")
        ok = last <= 1.2 * need and duplicates == 0 and lost == 0 and not over and fed[0] == args.count
        print("target (last <= 1.2 x pacing, 0 duplicates, 0 lost, no number over its rate):", "MET" if ok else "NOT MET")
        return 0 if ok else 1
    ok = (percentile(gate_lag, .99) <= 2.0 and duplicates == 0 and lost == 0 and not over
          and fed[0] == args.count and not pending)
    print("target (p99 <= 2 s, 0 duplicates, 0 lost, no number over its rate):", "MET" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
