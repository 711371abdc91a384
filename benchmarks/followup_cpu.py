"""CPU per follow-up: N follow-ups due now, sent by one RQ worker in this process (burst mode).

CPU time of one process is steadier than wall time on a shared machine, so this is the figure to
compare two versions of the follow-up path by. A throw-away SQLite file (or the PostgreSQL URL given,
which is emptied), a private embedded Redis, the `dev` provider, numbers fast enough that pacing never
waits. Prints wall and CPU milliseconds per follow-up and SQL statements per follow-up.

    .venv/bin/python benchmarks/followup_cpu.py --count 500 [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--database-url", default=None)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-bench-"))
    os.environ.update({
        "TEXTDESK_ENV_FILE": str(tmp / "none.env"), "TEXTDESK_DATA_DIR": str(tmp / "data"),
        "TEXTDESK_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
        "TEXTDESK_PUBLIC_URL": "http://127.0.0.1:8000", "TEXTDESK_SMS_PROVIDER": "dev",
        "TEXTDESK_SECRET_KEY": "bench", "TEXTDESK_FOLLOWUP_DELAY_SECONDS": "0",
    })
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TEXTDESK_REDIS_URL"):
        os.environ.pop(name, None)
    from core.embedded_redis import EmbeddedRedis

    redis_server = EmbeddedRedis(tmp / "redis")
    os.environ["TEXTDESK_REDIS_URL"] = redis_server.start()
    try:
        return run(args.count)
    finally:
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(count: int) -> int:
    from rq import SimpleWorker
    from sqlalchemy import event, text

    from core import db, queue
    from core.migrate import upgrade
    from followups.sessions import session_abandoned
    from inbox.accounts import add_number, create_account
    from inbox.models import Contact
    from tests.followups.helpers import daytime_zone
    from web.wiring import wire
    from webhooks.scheduler import parse, sign, verify

    wire()
    if db.get_engine().dialect.name == "postgresql":
        with db.get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()
    with db.session_scope() as s:
        account = create_account(s, "Bench Plumbing", "America/Los_Angeles", "https://book.example.com/new")
        for i in range(3):
            add_number(s, account.id, f"+1415555{1000 + i:04d}", transactional=True, mps=1000)
        phones = [f"+1628555{i:04d}" for i in range(count)]
        s.execute(Contact.__table__.insert(), [
            {"account_id": account.id, "phone": phone, "name": f"Customer {i}", "timezone": daytime_zone(),
             "opted_out": False, "created_at": db.utcnow()} for i, phone in enumerate(phones)])
        account_id, secret = account.id, account.webhook_secret
    for i, phone in enumerate(phones):
        body = json.dumps({
            "id": f"evt_{i}", "type": "session.abandoned",
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "session": {"id": f"sess_{i}", "url": f"https://book.example.com/s/{i}"},
            "contact": {"name": f"Customer {i}", "phone": phone}, "job": {"type": "Drain cleaning"}}).encode()
        ts = str(int(time.time()))
        headers = {"x-textdesk-account": str(account_id), "x-textdesk-timestamp": ts,
                   "x-textdesk-signature": sign(secret, ts, body)}
        with db.session_scope() as s:
            session_abandoned(s, verify(s, headers, body), parse(body))
    time.sleep(1.5)  # every follow-up due, by RQ's whole seconds too
    statements = [0]
    event.listen(db.get_engine(), "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    wall, cpu = time.perf_counter(), time.process_time()
    SimpleWorker(list(queue.QUEUE_NAMES), connection=queue.get_redis()).work(
        burst=True, with_scheduler=True, logging_level="WARNING")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with db.session_scope() as s:
        sent = s.scalar(text("SELECT count(*) FROM followups WHERE status = 'sent'"))
    print(f"{sent} of {count} follow-ups sent by one burst worker ({db.get_engine().dialect.name}): "
          f"{wall / count * 1000:.1f} ms wall, {cpu / count * 1000:.1f} ms CPU, "
          f"{statements[0] / count:.1f} SQL statements per follow-up")
    return 0 if sent == count else 1


if __name__ == "__main__":
    raise SystemExit(main())
