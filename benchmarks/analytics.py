"""Analytics benchmark: the dashboard's queries on one large account, on PostgreSQL.

Empties the given database, migrates it, seeds one account with --sessions abandoned booking
sessions (each with a contact, a thread and a follow-up split over variants A and B) and
--messages texts, plus tracked links, opt-outs, bookings and LLM calls, by COPY. Then times, each
as the median of --repeat runs, every query the dashboard makes and the whole page's data:

    .venv/bin/python benchmarks/analytics.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test_h12
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 500


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True, help="a PostgreSQL URL; the database is emptied")
    p.add_argument("--sessions", type=int, default=100_000, help="abandoned sessions (default 100000)")
    p.add_argument("--messages", type=int, default=1_000_000, help="texts (default 1000000)")
    p.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    p.add_argument("--skip-seed", action="store_true", help="reuse the data a previous run seeded")
    return p.parse_args()


def ts(moment: datetime) -> str:
    return moment.isoformat()


class Seeder:
    """Generates the rows in memory order and streams them to PostgreSQL with COPY."""

    def __init__(self, args: argparse.Namespace, account_id: int, now: datetime) -> None:
        self.args, self.account_id, self.now = args, account_id, now
        self.rng = random.Random(12)
        self.followups: list[tuple[Any, ...]] = []
        self.plan: list[dict[str, Any]] = []

    def plan_sessions(self) -> None:
        rng, now, n = self.rng, self.now, self.args.sessions
        for i in range(1, n + 1):
            abandoned = now - timedelta(seconds=rng.uniform(0, self.args.days * 86400))
            due = abandoned + timedelta(minutes=15)
            r = rng.random()
            if due > now:
                status = "scheduled"
            elif r < 0.10:
                status = "cancelled"
            elif r < 0.15:
                status = "blocked"
            elif r < 0.16:
                status = "failed"
            else:
                status = "sent"
            mode = "agent" if rng.random() < 0.2 else "link"
            owner = "agent" if mode == "agent" and rng.random() < 0.3 else ("csr" if rng.random() < 0.05 else "none")
            self.plan.append({"i": i, "abandoned": abandoned, "due": due, "status": status, "mode": mode,
                              "variant": "A" if i % 2 else "B", "owner": owner,
                              "thread_status": "open" if rng.random() < 0.3 else "resolved",
                              "escalated": owner == "csr" and rng.random() < 0.5,
                              "replies": status == "sent" and rng.random() < 0.3})

    def contacts(self) -> Iterator[tuple[Any, ...]]:
        for p in self.plan:
            yield (p["i"], self.account_id, f"+1415{p['i']:07d}", f"Customer {p['i']}", False, ts(p["abandoned"]))

    def threads(self) -> Iterator[tuple[Any, ...]]:
        for p in self.plan:
            yield (p["i"], self.account_id, p["i"], p["thread_status"], p["owner"], p["escalated"], False, 0, 0,
                   ts(p["abandoned"]), ts(p["abandoned"]), ts(p["abandoned"]))

    def sessions(self) -> Iterator[tuple[Any, ...]]:
        for p in self.plan:
            yield (p["i"], self.account_id, f"sess_{p['i']}", p["i"], p["i"], "abandoned", ts(p["abandoned"]),
                   ts(p["abandoned"]))

    def messages(self, out: dict[str, list[tuple[Any, ...]]]) -> Iterator[tuple[Any, ...]]:
        """Exactly --messages texts: each sent follow-up's own text, replies after a third of them,
        older history before the abandonment for the rest."""
        rng, per_thread = self.rng, self.args.messages // len(self.plan)
        extra = self.args.messages - per_thread * len(self.plan)
        message_id = 0
        for p in self.plan:
            count = per_thread + (1 if p["i"] <= extra else 0)
            sent = p["due"] if p["status"] == "sent" else None
            if sent is not None:
                message_id += 1
                failed = rng.random() < 0.05
                yield (message_id, self.account_id, p["i"], p["i"], "outbound", "system", "Finish booking",
                       "undelivered" if failed else "delivered", rng.choice(("30003", "30007")) if failed else None,
                       ts(sent))
                p["message_id"] = message_id
                count -= 1
            start = sent + timedelta(minutes=5) if sent and p["replies"] else p["abandoned"] - timedelta(days=30)
            for k in range(count):
                message_id += 1
                inbound = k % 2 == 0
                at = start + timedelta(minutes=7 * k)
                body = "STOP" if inbound and k == 0 and sent and p["replies"] and rng.random() < 0.05 else "ok"
                if body == "STOP":
                    out["consent"].append((len(out["consent"]) + 1, self.account_id, p["i"], "+1", "all", "opt_out",
                                           "keyword", message_id, ts(at)))
                sender = "customer" if inbound else ("agent" if p["owner"] == "agent" else "csr")
                yield (message_id, self.account_id, p["i"], p["i"], "inbound" if inbound else "outbound", sender, body,
                       "received" if inbound else "delivered", None, ts(at))

    def followup_rows(self) -> Iterator[tuple[Any, ...]]:
        reasons = ("inbound_reply", "opt_out", "csr", "session_completed", "csr_replied")
        blocks = ("opted_out", "landline", "quiet_hours", "duplicate", "invalid_number")
        for p in self.plan:
            status = p["status"]
            yield (p["i"], self.account_id, p["i"], p["i"], p["i"], ts(p["due"]), status, p["mode"], p["variant"],
                   self.rng.choice(blocks) if status == "blocked" else None,
                   self.rng.choice(reasons) if status == "cancelled" else None,
                   p.get("message_id"), ts(p["due"]) if status == "sent" else None, ts(p["abandoned"]),
                   ts(p["abandoned"]))

    def links(self) -> Iterator[tuple[Any, ...]]:
        for p in self.plan:
            if p["status"] == "sent" and p["mode"] == "link":
                r = self.rng.random()
                clicks = self.rng.randint(1, 3) if r < 0.25 else 0
                yield (p["i"], self.account_id, f"l{p['i']}", p["i"], "https://book.example.com", clicks,
                       1 if r < 0.35 else 0, ts(p["due"]))

    def bookings(self) -> Iterator[tuple[Any, ...]]:
        booking_id = 0
        for p in self.plan:
            if p["status"] == "sent" and self.rng.random() < 0.12:
                at = p["due"] + timedelta(seconds=self.rng.uniform(600, 10 * 86400))
                if at > self.now:
                    continue
                source = "agent" if p["mode"] == "agent" else self.rng.choice(("link", "scheduler", "csr"))
                booking_id += 1
                yield (booking_id, self.account_id, p["i"], p["i"], source, "booked", ts(at), ts(at))
        for _ in range(3000):  # bookings with no follow-up behind them
            booking_id += 1
            contact = self.rng.randint(1, len(self.plan))
            at = self.now - timedelta(seconds=self.rng.uniform(0, self.args.days * 86400))
            yield (booking_id, self.account_id, contact, contact, "scheduler", "booked", ts(at), ts(at))


def copy(conn: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as out:
        for row in rows:
            out.write_row(row)
            n += 1
    return n


def seed(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from core import db
    from core.migrate import upgrade
    from followups.models import FollowupVariant
    from inbox.accounts import create_account

    engine = db.get_engine()
    with engine.begin() as ddl:
        ddl.execute(text("DROP SCHEMA public CASCADE"))
        ddl.execute(text("CREATE SCHEMA public"))
    upgrade()
    with db.session_scope() as session:
        account = create_account(session, "Benchmark Plumbing", "America/Los_Angeles", "https://book.example.com/")
        session.flush()
        for name in ("A", "B"):
            session.add(FollowupVariant(account_id=account.id, name=name, mode="link", weight=1))
        account_id = account.id
    now = datetime.now(UTC)
    seeder = Seeder(args, account_id, now)
    seeder.plan_sessions()
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        out: dict[str, list[tuple[Any, ...]]] = {"consent": []}
        counts = {
            "contacts": copy(conn, "contacts", "id, account_id, phone, name, opted_out, created_at", seeder.contacts()),
            "threads": copy(conn, "threads", "id, account_id, contact_id, status, owner, escalated, opted_out, "
                            "unread_count, agent_messages, last_message_at, created_at, updated_at", seeder.threads()),
            "booking_sessions": copy(conn, "booking_sessions", "id, account_id, external_id, contact_id, thread_id, "
                                     "status, abandoned_at, created_at", seeder.sessions()),
            "messages": copy(conn, "messages", "id, account_id, thread_id, contact_id, direction, sender, body, "
                             "status, error_code, created_at, category, compliance, attachments, segments",
                             _with_defaults(seeder.messages(out))),
        }
        counts["followups"] = copy(conn, "followups", "id, account_id, session_id, contact_id, thread_id, due_at, "
                                   "status, mode, variant, block_reason, cancelled_by, sent_message_id, sent_at, "
                                   "created_at, updated_at", seeder.followup_rows())
        counts["tracked_links"] = copy(conn, "tracked_links", "id, account_id, code, followup_id, target_url, "
                                       "click_count, preview_count, created_at", seeder.links())
        counts["consent_events"] = copy(conn, "consent_events", "id, account_id, contact_id, phone, category, action, "
                                        "source, message_id, created_at", iter(out["consent"]))
        counts["bookings"] = copy(conn, "bookings", "id, account_id, contact_id, thread_id, source, status, "
                                  "created_at, updated_at", seeder.bookings())
        counts["llm_calls"] = copy(conn, "llm_calls", "account_id, model, prompt_tokens, completion_tokens, "
                                   "latency_ms, ok, created_at", (
                                       (account_id, "m", 800, 60, 400 + i % 900, i % 50 != 0,
                                        ts(now - timedelta(minutes=i))) for i in range(20_000)))
        with conn.cursor() as cur:
            for table in ("contacts", "threads", "booking_sessions", "messages", "followups", "tracked_links",
                          "consent_events", "bookings"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cur.execute("ANALYZE")
        conn.commit()
    finally:
        raw.close()
    print(f"seeded in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return account_id


def _with_defaults(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    # Columns without a server default that COPY must fill: category, compliance, attachments, segments.
    for row in rows:
        yield (*row, "transactional", False, "[]", 1)


class Clock:
    """Wall time, and the CPU time this process and its PostgreSQL backend spent (read from /proc).

    The machine this runs on may be shared: wall time then includes waiting for a core, while CPU
    time is what the same work costs on an idle machine. Parallel query is turned off in the
    benchmark's session so that the backend's CPU is all the CPU there is.
    """

    def __init__(self, session: Any) -> None:
        from sqlalchemy import text

        session.execute(text("SET max_parallel_workers_per_gather = 0"))
        self.pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        self.tick = os.sysconf("SC_CLK_TCK")

    def server_cpu(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # PostgreSQL on another machine: server CPU is not visible
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / self.tick


def timed(clock: Clock, label: str, repeat: int, fn: Callable[[], Any]) -> tuple[float, float]:
    runs, cpus = [], []
    for _ in range(repeat):
        server, client, started = clock.server_cpu(), time.process_time(), time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
        cpus.append((clock.server_cpu() - server + time.process_time() - client) * 1000)
    ms, cpu = statistics.median(runs), statistics.median(cpus)
    print(f"  {label:<36} {ms:8.1f} ms wall   {cpu:6.0f} ms CPU   (wall min {min(runs):.1f}, max {max(runs):.1f})")
    return ms, cpu


def measure(account_id: int, repeat: int) -> None:
    from sqlalchemy import text

    from analytics import attribution, charts, funnel, report, steps, tiles
    from analytics.cohort import cohort_rows
    from analytics.periods import parse_period
    from analytics.usage import agent_usage
    from core import db
    from inbox.models import Account

    with db.session_scope() as session:
        account = session.get_one(Account, account_id)
        now = datetime.now(UTC)
        period = parse_period(None, None, account.timezone, now, 30)
        window = attribution.window_days(session, account.id)
        sessions = session.execute(text("SELECT count(*) FROM booking_sessions WHERE abandoned_at >= :s"),
                                   {"s": period.start}).scalar()
        clock = Clock(session)
        print(f"period: the last 30 days ({sessions:,} sessions of {account.name}), repeat {repeat}, median:")
        timed(clock, "tiles", repeat, lambda: tiles.tiles(session, account.id, account.timezone, now))
        rows = cohort_rows(session, account.id, period)
        timed(clock, "cohort (every session's outcome)", repeat, lambda: cohort_rows(session, account.id, period))
        since = funnel.since_start(session, account.id, period, window)
        timed(clock, "attribution (bookings since start)", repeat,
              lambda: funnel.since_start(session, account.id, period, window))
        timed(clock, "funnel from the cohort", repeat,
              lambda: funnel.tallies(session, account.id, period, window, rows=rows, bookings=since))
        timed(clock, "per-step table from the cohort", repeat, lambda: steps.steps(rows, now, since))
        timed(clock, "experiment (API)", repeat, lambda: report.experiment_for(session, account.id, period, window))
        timed(clock, "agent usage", repeat, lambda: agent_usage(session, account.id, period.start, period.end))

        def whole() -> None:
            data = report.dashboard(session, account, period, now)
            agent_usage(session, account.id, period.start, period.end)
            charts.funnel_bars([(k, 1) for k in report.FUNNEL_BARS])
            charts.daily_lines(period.days(), data["bookings_per_day"])

        wall, cpu = timed(clock, "whole dashboard", repeat, whole)
        verdict = {True: "met", False: "missed"}
        print(f"whole dashboard, target < {TARGET_MS} ms: CPU {cpu:.0f} ms ({verdict[cpu < TARGET_MS]}), "
              f"wall {wall:.0f} ms ({verdict[wall < TARGET_MS]}); load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores")
        for days in (90, 365):
            longer = parse_period(None, None, account.timezone, now, days)
            count = session.execute(text("SELECT count(*) FROM booking_sessions WHERE abandoned_at >= :s"),
                                    {"s": longer.start}).scalar()
            timed(clock, f"whole dashboard, {days} days ({count:,})", max(1, repeat // 2),
                  lambda: report.dashboard(session, account, longer, now))  # noqa: B023


def main() -> None:
    args = parse_args()
    os.environ["TEXTDESK_DATABASE_URL"] = args.database_url
    os.environ.setdefault("TEXTDESK_ENV_FILE", os.devnull)
    if not args.database_url.startswith("postgresql"):
        sys.exit("--database-url must be a PostgreSQL URL")
    if args.skip_seed:
        from sqlalchemy import text

        from core import db
        with db.get_engine().connect() as conn:
            account_id = conn.execute(text("SELECT min(id) FROM accounts")).scalar_one()
    else:
        account_id = seed(args)
    measure(account_id, args.repeat)


if __name__ == "__main__":
    main()
