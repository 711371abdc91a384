"""Fault test: a customer texts STOP at a random instant around a text that is due to them.

Starts the fake Twilio API of benchmarks/fake_twilio.py in this process (it answers each text after
20–80 ms and records when the request arrived and when it was answered), then a private textdesk on
the `twilio` provider pointed at it: on the PostgreSQL given, one `textdesk serve` and two
`textdesk worker` processes with a private redis-server; without one, a temporary SQLite file and
the embedded Redis and workers of `serve`.

Each trial is a new customer number. Most trials feed a signed abandoned scheduler session whose
follow-up is due at T; every `--reply-every`-th trial is a rep's reply posted at T on a thread the
customer opened with a text. The customer's STOP webhook is posted at T + the median time from T
to the provider call (measured first on warm-up numbers) + a random offset in ±300 ms, so some
STOPs land before the send, some while it is in flight, some after it.

The guarantee (strict STOP): once the STOP's webhook has answered 200, no provider call for that
number starts and none is in flight. A violation is a send to the number (other than the STOP
confirmation, told apart by its body) that arrived at the provider after the client got the 200, or
arrived before and was answered after it. It also checks that every STOP was stored, the contact is
opted out and the confirmation reached the provider. Exits non-zero when one check fails.

    .venv/bin/python benchmarks/fault_stop_races.py [--database-url postgresql+psycopg://…] [--trials 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fake_twilio import FakeTwilio, Send  # noqa: E402
from benchmarks.fault_redis_outage import post_text, start_redis  # noqa: E402
from benchmarks.harness import Textdesk, free_port  # noqa: E402
from inbox.phones import timezone_of  # noqa: E402
from webhooks.scheduler import sign  # noqa: E402

ACCOUNT_SID = "AC" + "5" * 32
FOLLOWUP_DELAY = 60  # seconds; a session abandoned at T - 60 s is due at T
LEAD = 1.5  # seconds between feeding a session and its due time
CONFIRMATION = "Bench Plumbing: you're unsubscribed"  # the STOP confirmation's opening (allowed)


@dataclass
class Trial:
    phone: str
    kind: str  # followup or reply
    offset: float = 0.0
    due: float = 0.0  # T
    stop_posted: float = 0.0
    stop_answered: float = 0.0
    stop_status: int = 0
    sends: list[Send] = field(default_factory=list)


def daytime_area_code() -> str:
    """An area code where it is between 9:00 and 20:00 now, so quiet hours defer nothing."""
    for area in ("212", "312", "303", "415", "907", "808"):
        zone = timezone_of(f"+1{area}5551000", "UTC")
        if 9 <= datetime.now(ZoneInfo(zone)).hour < 20:
            return area
    raise SystemExit("no US area code is in daytime now")


class Driver:
    """Posts what a scheduler widget, a rep and a customer's phone would, signed."""

    def __init__(self, td: Textdesk, secret: str, token: str) -> None:
        self.td, self.secret, self.token, self.url = td, secret, token, td.urls[0]
        self.local = threading.local()
        self.engine = create_engine(td.database_url)

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(timeout=30)
        return self.local.client  # type: ignore[no-any-return]

    def abandoned(self, phone: str, due: float) -> None:
        occurred = datetime.fromtimestamp(due, UTC) - timedelta(seconds=FOLLOWUP_DELAY)
        session_id = f"sess_{phone[1:]}"
        body = json.dumps({"id": f"evt_{phone[1:]}", "type": "session.abandoned", "occurred_at": occurred.isoformat(),
                           "session": {"id": session_id, "url": f"https://book.example.com/s/{session_id}"},
                           "contact": {"phone": phone, "name": "Pat Doe"}}).encode()
        stamp = str(int(time.time()))
        answer = self.client().post(f"{self.url}/webhooks/scheduler", content=body, headers={
            "Content-Type": "application/json", "X-Textdesk-Account": str(self.td.account_id),
            "X-Textdesk-Timestamp": stamp, "X-Textdesk-Signature": sign(self.secret, stamp, body)})
        assert answer.status_code == 200 and answer.json().get("followup_id"), answer.text

    def customer_text(self, phone: str, body: str) -> tuple[float, int, float]:
        posted = time.time()
        status = post_text(self.client(), self.url, self.td.public_url, "SM" + uuid.uuid4().hex, phone, body)
        return posted, status, time.time()

    def thread_of(self, phone: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT t.id FROM threads t JOIN contacts c ON c.id = t.contact_id "
                                         "WHERE c.phone = :p ORDER BY t.id DESC LIMIT 1"), {"p": phone}).scalar_one())

    def reply(self, thread_id: int) -> int:
        """The status of a rep's reply: 201 either way; after the STOP the gate stores it blocked."""
        return self.client().post(f"{self.url}/api/v1/threads/{thread_id}/messages", json={"body": "On our way"},
                                  headers={"Authorization": f"Bearer {self.token}"}).status_code


def sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.time()))


class Centre:
    """Where to aim a STOP: the median of the last few delays from T to the provider call, per kind.
    RQ's scheduler takes due jobs once a second, so the delay drifts with its phase; it is tracked."""

    def __init__(self) -> None:
        self.lags: dict[str, list[float]] = {"followup": [], "reply": []}
        self.lock = threading.Lock()

    def add(self, kind: str, lag: float) -> None:
        with self.lock:
            self.lags[kind].append(lag)

    def of(self, kind: str) -> float:
        with self.lock:
            return statistics.median(self.lags[kind][-5:])


def due_soon() -> float:
    # A whole second: RQ keeps scheduled times in whole seconds, so this is when the job becomes due.
    return float(int(time.time() + LEAD))


def start(driver: Driver, phone: str, kind: str, statuses: list[int]) -> float:
    """Make a text to `phone` due at T and return T: a follow-up whose session was abandoned T - delay
    ago, or a rep's reply posted at T (from a thread, which adds its answer's status to `statuses`)."""
    if kind == "followup":
        due = due_soon()
        driver.abandoned(phone, due)
        return due
    driver.customer_text(phone, "Can someone come out this week?")
    thread_id = driver.thread_of(phone)
    due = time.time() + 0.1
    sleep_until(due)
    threading.Thread(target=lambda: statuses.append(driver.reply(thread_id)), daemon=True).start()
    return due


def run_trial(driver: Driver, fake: FakeTwilio, trial: Trial, centre: Centre, statuses: list[int]) -> None:
    """The text due at T, then the customer's STOP at T + centre + offset."""
    trial.due = start(driver, trial.phone, trial.kind, statuses)
    sleep_until(trial.due + centre.of(trial.kind) + trial.offset)
    trial.stop_posted, trial.stop_status, trial.stop_answered = driver.customer_text(trial.phone, "STOP")
    sends = not_confirmation(fake.to(trial.phone))
    if sends:
        centre.add(trial.kind, sends[0].arrived - trial.due)


def not_confirmation(sends: list[Send]) -> list[Send]:
    return [s for s in sends if not s.body.startswith(CONFIRMATION)]


def calibrate(driver: Driver, fake: FakeTwilio, centre: Centre, phones: list[str], kind: str) -> None:
    """Delays from T to the provider call, on numbers that never text STOP."""
    for phone in phones:
        due = start(driver, phone, kind, [])
        deadline = time.time() + 10
        while not fake.to(phone) and time.time() < deadline:
            time.sleep(0.02)
        sends = fake.to(phone)
        assert sends, f"warm-up {kind} to {phone} never reached the provider"
        centre.add(kind, sends[0].arrived - due)


def settle(database_url: str, seconds: float = 60) -> int:
    """Wait until no outbound text is waiting for its provider call; returns how many still wait."""
    engine = create_engine(database_url)
    deadline = time.monotonic() + seconds
    waiting = 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            waiting = int(conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'outbound' AND "
                                            "provider_sid IS NULL AND status IN ('queued', 'sending')")).scalar_one())
            waiting += int(conn.execute(text("SELECT count(*) FROM followups WHERE status = 'scheduled' "
                                             "AND due_at < :now"), {"now": datetime.now(UTC)}).scalar_one())
        if not waiting:
            break
        time.sleep(0.5)
    engine.dispose()
    return waiting


def stored_stops(database_url: str, phones: list[str]) -> tuple[set[str], set[str], dict[str, int]]:
    """Numbers whose STOP text is stored, numbers whose contact is opted out, and where each trial's
    text ended (follow-up cancelled before its turn, blocked by the gate, blocked at delivery, sent)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT from_number FROM messages WHERE direction = 'inbound' "
                                                      "AND body = 'STOP'"))}
        opted = {row[0] for row in conn.execute(text("SELECT phone FROM contacts WHERE opted_out"))}
        followups = conn.execute(text("SELECT c.phone, f.status FROM followups f JOIN contacts c "
                                      "ON c.id = f.contact_id")).all()
        texts = conn.execute(text("SELECT to_number, status, block_detail FROM messages WHERE direction = 'outbound' "
                                  "AND NOT compliance")).all()
    engine.dispose()
    wanted = set(phones)
    outcomes: dict[str, int] = {}
    for phone, status in followups:
        if phone in wanted and status == "cancelled":
            outcomes["follow-up cancelled by the STOP"] = outcomes.get("follow-up cancelled by the STOP", 0) + 1
    for phone, status, detail in texts:
        if phone not in wanted:
            continue
        if status != "blocked":
            where = "sent"
        elif detail and "before it went out" in detail:
            where = "blocked at delivery"
        else:
            where = "blocked by the gate when written"
        outcomes[where] = outcomes.get(where, 0) + 1
    return stored & wanted, opted & wanted, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL (emptied); without it: SQLite and the embedded Redis")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--reply-every", type=int, default=4, help="every n-th trial is a rep's reply (0: none)")
    parser.add_argument("--spread", type=float, default=0.3, help="STOP offset range in seconds, ±")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="textdesk-stop-"))
    fake = FakeTwilio((ACCOUNT_SID, "bench-auth-token"))
    redis_process = None
    redis_url = None
    if args.database_url:
        port = free_port()
        redis_process = start_redis(port, tmp)
        redis_url = f"redis://127.0.0.1:{port}/0"
    env = {"TEXTDESK_SMS_PROVIDER": "twilio", "TWILIO_API_BASE": fake.url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
           "TEXTDESK_FOLLOWUP_DELAY_SECONDS": str(FOLLOWUP_DELAY)}
    area = daytime_area_code()
    phone = iter(f"+1{area}555{n:04d}" for n in range(1000, 9999))
    try:
        with Textdesk(tmp, args.database_url, redis_url, web=1, workers=2 if redis_url else 1, extra_env=env) as td:
            secret = td.cli("account", "secret", str(td.account_id))["webhook_secret"]
            td.cli("user", "create", str(td.account_id), "rep@stop.test", "--password-stdin", "--role", "admin",
                   stdin="stop race password\n")
            driver = Driver(td, secret, td.cli("token", "create", "rep@stop.test")["token"])
            centre = Centre()
            calibrate(driver, fake, centre, [next(phone) for _ in range(3)], "followup")
            calibrate(driver, fake, centre, [next(phone) for _ in range(3)], "reply")
            print(f"setup: {td.database_kind}, fake Twilio at {fake.url}; median T → provider call: follow-up "
                  f"{centre.of('followup') * 1000:.0f} ms, rep reply {centre.of('reply') * 1000:.0f} ms", flush=True)
            trials = [Trial(next(phone), "reply" if args.reply_every and n % args.reply_every == args.reply_every - 1
                            else "followup", offset=rng.uniform(-args.spread, args.spread))
                      for n in range(args.trials)]
            started, replies = time.monotonic(), []
            with ThreadPoolExecutor(max_workers=4) as pool:
                futures = []
                for trial in trials:
                    futures.append(pool.submit(run_trial, driver, fake, trial, centre, replies))
                    time.sleep(0.5)
                for future in futures:
                    future.result()
            waiting = settle(td.database_url)
            elapsed = time.monotonic() - started
            stored, opted, outcomes = stored_stops(td.database_url, [t.phone for t in trials])
            driver.engine.dispose()
    finally:
        fake.close()
        if redis_process is not None and redis_process.poll() is None:
            redis_process.terminate()
            redis_process.wait(10)
    report(trials, fake, stored, opted, outcomes, replies, waiting, elapsed)


def report(trials: list[Trial], fake: FakeTwilio, stored: set[str], opted: set[str], outcomes: dict[str, int],
           replies: list[int], waiting: int, elapsed: float) -> None:
    sent_before = blocked = waited = 0
    violations: list[str] = []
    unconfirmed = []
    for trial in trials:
        everything = fake.to(trial.phone)
        trial.sends = not_confirmation(everything)
        if len(everything) - len(trial.sends) != 1:
            unconfirmed.append(trial.phone)
        if not trial.sends:
            blocked += 1
        for send in trial.sends:
            if send.arrived >= trial.stop_answered:
                violations.append(f"{trial.phone}: a send arrived {1000 * (send.arrived - trial.stop_answered):.1f} ms "
                                  f"after the STOP's 200")
            elif send.answered > trial.stop_answered:
                violations.append(f"{trial.phone}: a send was in flight when the STOP's 200 came "
                                  f"(answered {1000 * (send.answered - trial.stop_answered):.1f} ms later)")
            else:
                sent_before += 1
                # The STOP was posted before the provider answered: its webhook waited for the text in flight.
                waited += send.answered > trial.stop_posted
    offsets = sorted(t.stop_posted - (t.sends[0].arrived if t.sends else 0) for t in trials if t.sends)
    kinds = {k: sum(t.kind == k for t in trials) for k in ("followup", "reply")}
    not_200 = [t.phone for t in trials if t.stop_status != 200]
    print(f"trials {len(trials)} ({kinds['followup']} follow-ups due at T, {kinds['reply']} rep replies at T), "
          f"{elapsed:.0f} s; rep replies answered 201: {replies.count(201)}; texts still waiting at the end: {waiting}")
    print(f"sent before the STOP answered {sent_before} (of them, STOP posted while the send was under way and "
          f"answered after it: {waited}); blocked or cancelled {blocked}")
    print("where each text ended:", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    if offsets:
        print(f"STOP posted relative to the send's arrival, where one went out: {1000 * offsets[0]:+.0f} … "
              f"{1000 * offsets[-1]:+.0f} ms")
    print(f"STOP webhooks answered 200: {len(trials) - len(not_200)}/{len(trials)}; stored {len(stored)}, "
          f"contact opted out {len(opted)}, confirmation sent exactly once {len(trials) - len(unconfirmed)}")
    print(f"violations: {len(violations)}")
    for line in violations[:20]:
        print("  ", line)
    ok = (not violations and not not_200 and replies.count(201) == kinds["reply"]
          and len(stored) == len(opted) == len(trials) and not unconfirmed and not waiting)
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
