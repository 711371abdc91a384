"""The `textdesk` command line (CONTRACTS.md lists the commands)."""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import RedisError
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.db import session_scope
from core.embedded_redis import EmbeddedRedis
from core.migrate import upgrade
from core.outbox import start_relay
from core.queue import QUEUE_NAMES, get_redis
from core.settings import SettingsError, get_settings, reset_settings
from followups.scheduling import start_reconciler
from inbox.accounts import ValidationError, add_number, create_account, create_token, create_user
from inbox.models import Account, User
from inbox.recovery import start_recovery
from integrations.delivery import start_reconciler as start_webhook_reconciler
from web.app import create_app
from web.cli_setup import add_calendar_commands, add_number_commands, add_user_commands
from web.logins import proxy_headers_config
from web.wiring import wire

EXIT_USAGE = 2
WORKER_MAINTENANCE_SECONDS = 10


def _die(message: str) -> None:
    print(f"textdesk: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _emit(args: argparse.Namespace, text: str, data: dict[str, Any]) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if `serve` dies without cleaning up (SIGKILL, OOM).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def cmd_migrate(args: argparse.Namespace) -> None:
    upgrade()
    print(f"database is up to date ({_safe_url(get_settings().database_url)})")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def cmd_worker(args: argparse.Namespace) -> None:
    # SimpleWorker runs jobs in this process: no fork, so the SQLAlchemy pool is never shared.
    # Maintenance every few seconds rather than RQ's ten minutes: it is what restarts the scheduler
    # after it died on a lost Redis connection, so delayed follow-ups fire again soon after Redis returns.
    worker = SimpleWorker(list(QUEUE_NAMES), connection=get_redis(), maintenance_interval=WORKER_MAINTENANCE_SECONDS)
    try:
        start_reconciler()  # follow-ups whose job went missing while no worker (or Redis) was up
        start_recovery()  # texts a killed worker left behind
        start_webhook_reconciler()  # outbound webhooks likewise
    except RedisError:
        print("textdesk: redis is not answering yet; the worker waits for it", file=sys.stderr, flush=True)
    relay = start_relay()  # jobs committed while Redis was away reach RQ as soon as it answers
    try:
        worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    finally:
        relay.set()


def _in_session(fn: Callable[[Any], Any]) -> Any:
    upgrade()  # a fresh install needs no separate `migrate` before its first account
    try:
        with session_scope() as session:
            return fn(session)
    except ValidationError as exc:
        _die(str(exc))


def cmd_account_create(args: argparse.Namespace) -> None:
    account = _in_session(lambda s: create_account(s, args.name, args.timezone, args.scheduler_url, args.followup_mode))
    _emit(args, f"created account {account.id} ({account.name})\nwebhook secret: {account.webhook_secret}",
          {"id": account.id, "webhook_secret": account.webhook_secret})


def cmd_number_add(args: argparse.Namespace) -> None:
    if not (args.transactional or args.marketing):
        args.transactional = True  # a number registered for nothing could never send
    number = _in_session(lambda s: add_number(s, args.account_id, args.phone, args.transactional, args.marketing,
                                              args.mps, args.messaging_service_sid))
    kinds = ", ".join(k for k, on in (("transactional", number.transactional), ("marketing", number.marketing)) if on)
    _emit(args, f"added {number.phone} to account {number.account_id} ({kinds}, {number.mps} msg/s)",
          {"id": number.id, "phone": number.phone})


def cmd_user_create(args: argparse.Namespace) -> None:
    if not args.password_stdin:
        _die("pass the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    user = _in_session(lambda s: create_user(s, args.account_id, args.email, password, args.role))
    _emit(args, f"created {user.role} {user.email} (id {user.id}) in account {user.account_id}", {"id": user.id})


def cmd_token_create(args: argparse.Namespace) -> None:
    token = _in_session(lambda s: create_token(s, args.email))
    _emit(args, token, {"token": token})


def cmd_demo(args: argparse.Namespace) -> None:
    upgrade()
    password = secrets.token_urlsafe(9)
    email = "admin@demo.textdesk.local"

    def seed(session: Any) -> Account:
        account = session.scalar(select(Account).where(Account.name == "Reyes Plumbing & Heating (demo)"))
        if account is None:
            account = create_account(session, "Reyes Plumbing & Heating (demo)", "America/Los_Angeles",
                                     "https://book.example.com/new?name={name}&phone={phone}&zip={zip}&job={job_type}")
            account.contact_phone = "+14155550100"
            add_number(session, account.id, "+14155550100", transactional=True, marketing=True, mps=1)
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            create_user(session, account.id, email, password, "admin", name="Demo Admin")
        else:
            from argon2 import PasswordHasher

            user.password_hash = PasswordHasher().hash(password)
        return account

    account = _in_session(seed)
    print(f"demo account {account.id}: {account.name}")
    print(f"log in at http://{args.host}:{args.port}/login as {email} / {password}")
    cmd_serve(args)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn


    settings = get_settings()
    upgrade()
    redis_server: EmbeddedRedis | None = None
    worker: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(0)  # a requested stop is a clean exit

    # SIGTERM unwinds through the `finally` below: before uvicorn starts, and again when uvicorn
    # re-raises it after its graceful shutdown.
    signal.signal(signal.SIGTERM, on_term)
    try:
        env = dict(os.environ)
        if settings.embedded_redis:
            redis_server = EmbeddedRedis(settings.data_dir)
            env["TEXTDESK_REDIS_URL"] = os.environ["TEXTDESK_REDIS_URL"] = redis_server.start()
            reset_settings()
            print(f"embedded redis at {redis_server.url}", flush=True)
        if settings.embedded_redis or args.with_worker:
            worker = subprocess.Popen([sys.executable, "-m", "web.cli", "worker"], env=env,
                                      preexec_fn=_die_with_parent)
            print(f"rq worker with scheduler: pid {worker.pid}", flush=True)

        # uvloop and httptools: the C event loop and HTTP parser cost a fraction of the pure-Python ones.
        # No access log: a line per request costs more than a webhook's handler; /metrics counts them.
        config = uvicorn.Config(create_app(), host=args.host, port=args.port, log_level="info",
                                ws="websockets-sansio", loop="uvloop", http="httptools", access_log=False,
                                **proxy_headers_config(settings))
        uvicorn.Server(config).run()
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if redis_server is not None:
            redis_server.stop()
        print("textdesk stopped", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textdesk", description="SMS inbox and AI follow-up agent")
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--with-worker", action="store_true",
                       help="also start one RQ worker when TEXTDESK_REDIS_URL is set")

    p = sub.add_parser("serve", help="run the web app (and, embedded, Redis and a worker)")
    serve_args(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run an RQ worker with the scheduler")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    account = sub.add_parser("account").add_subparsers(dest="action", required=True)
    p = account.add_parser("create", help="create an account")
    p.add_argument("name")
    p.add_argument("--timezone", required=True)
    p.add_argument("--scheduler-url")
    p.add_argument("--followup-mode", choices=("link", "agent"), default="link")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_account_create)

    number = sub.add_parser("number").add_subparsers(dest="action", required=True)
    p = number.add_parser("add", help="register a sending number")
    p.add_argument("account_id")
    p.add_argument("phone")
    p.add_argument("--transactional", action="store_true")
    p.add_argument("--marketing", action="store_true")
    p.add_argument("--mps", type=int, default=1)
    p.add_argument("--messaging-service-sid")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_number_add)
    add_number_commands(number)

    user = sub.add_parser("user").add_subparsers(dest="action", required=True)
    p = user.add_parser("create", help="create a CSR login")
    p.add_argument("account_id")
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--role", choices=("csr", "admin"), default="csr")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_create)
    add_user_commands(user)
    add_calendar_commands(sub)

    token = sub.add_parser("token").add_subparsers(dest="action", required=True)
    p = token.add_parser("create", help="print a new API token for a user")
    p.add_argument("email")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_token_create)

    p = sub.add_parser("demo", help="seed a demo account and serve it")
    serve_args(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        get_settings()
        wire()
        args.func(args)
    except SettingsError as exc:
        _die(str(exc))
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
