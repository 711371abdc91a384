"""CPU per inbound text: batches of N texts stored by the web process's writer (`webhooks.inbound_writer.write`)
in this process, as the webhook hands them on under load.

CPU time of one thread is steadier than a load test's rate on a shared machine, so this is the figure to
compare two versions of the inbound path by. A throw-away SQLite file (or the PostgreSQL URL given, which
is emptied) and a private embedded Redis; one account and number; texts from 300 customers in turn.
Prints wall and CPU milliseconds and SQL statements per text.

    .venv/bin/python benchmarks/inbound_cpu.py --batch 16 [--batches 300] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=16, help="texts per transaction (16 is typical at the peak)")
    p.add_argument("--batches", type=int, default=300)
    p.add_argument("--database-url", default=None)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-bench-"))
    os.environ.update({
        "TEXTDESK_ENV_FILE": str(tmp / "none.env"), "TEXTDESK_DATA_DIR": str(tmp / "data"),
        "TEXTDESK_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
        "TEXTDESK_SECRET_KEY": "bench",
    })
    from core.embedded_redis import EmbeddedRedis

    redis_server = EmbeddedRedis(tmp / "redis")
    os.environ["TEXTDESK_REDIS_URL"] = redis_server.start()
    try:
        return run(args.batch, args.batches)
    finally:
        redis_server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(size: int, batches: int) -> int:
    from sqlalchemy import event, func, select, text

    from core import db
    from core.migrate import upgrade
    from inbox.models import Message
    from tests.factories import make_tenant
    from web.wiring import wire
    from webhooks.inbound_writer import write

    wire()
    if db.get_engine().dialect.name == "postgresql":
        with db.get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()
    with db.session_scope() as s:
        make_tenant(s)
    customers = [f"+1415555{n:04d}" for n in range(300)]
    sent = 0

    def batch() -> list[dict[str, str]]:
        nonlocal sent
        sent += size
        return [{"to": "+14155550100", "from_": customers[n % 300], "body": f"bench text {n}",
                 "provider_sid": f"SM{n:032d}"} for n in range(sent - size, sent)]

    for _ in range(20):  # every customer's contact and thread exists, as on a working day
        write(batch())
    statements = [0]
    event.listen(db.get_engine(), "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(batches):
        write(batch())
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    with db.session_scope() as s:
        stored = s.scalar(select(func.count()).select_from(Message))
    count = size * batches
    print(f"{count} texts in batches of {size} ({db.get_engine().dialect.name}): {wall / count * 1000:.3f} ms wall, "
          f"{cpu / count * 1000:.3f} ms CPU, {statements[0] / count:.2f} SQL statements per text")
    return 0 if stored == sent else 1


if __name__ == "__main__":
    raise SystemExit(main())
