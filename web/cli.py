"""The `textdesk` command line (docs/cli.md lists the commands)."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from core.db import session_scope
from core.migrate import upgrade
from core.outbox import start_relay
from core.periodic import start_periodic
from core.queue import QUEUE_NAMES, get_redis, release_dead_scheduler_locks
from core.settings import SettingsError, get_settings
from followups.scheduling import start_reconciler
from inbox.accounts import ValidationError, add_number, create_account, create_token, create_user, rotate_webhook_secret
from inbox.models import Account
from inbox.recovery import start_recovery
from integrations.delivery import start_reconciler as start_webhook_reconciler
from web.cli_setup import add_calendar_commands, add_number_commands, add_user_commands
from web.demo import seed
from web.serving import claim_or_exit, serve, settings_for
from web.wiring import wire
from web.worker import TextdeskWorker

EXIT_USAGE = 2
WORKER_MAINTENANCE_SECONDS = 10
# An idle RQ worker waits for a job worker_ttl - 15 s before its loop comes round to maintenance (RQ's
# default: 405 s); 25 makes it 10 s, so an idle worker takes over a killed worker's scheduler promptly.
WORKER_TTL_SECONDS = 25
SCHEDULER_WATCH_SECONDS = 5
JSON_HELP = "print one JSON object instead of text (for scripts)"


def _die(message: str) -> None:
    print(f"textdesk: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _emit(args: argparse.Namespace, text: str, data: dict[str, Any]) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


def cmd_migrate(args: argparse.Namespace) -> None:
    upgrade()
    print(f"database is up to date ({_safe_url(get_settings().database_url)})")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def build_worker() -> TextdeskWorker:
    # Jobs run in this process (no fork, so the SQLAlchemy pool is never shared); a job the database's
    # absence interrupted runs again once it is back. Maintenance every few seconds rather than RQ's ten
    # minutes: it is what restarts the scheduler after it died on a lost Redis connection, so delayed
    # follow-ups fire again soon after Redis returns.
    return TextdeskWorker(list(QUEUE_NAMES), connection=get_redis(), maintenance_interval=WORKER_MAINTENANCE_SECONDS,
                          worker_ttl=WORKER_TTL_SECONDS)


def cmd_worker(args: argparse.Namespace) -> None:
    worker = build_worker()
    try:
        start_reconciler()  # follow-ups whose job went missing while no worker (or Redis) was up
        start_webhook_reconciler()  # outbound webhooks likewise
    except RedisError:
        print("textdesk: redis is not answering yet; the worker waits for it", file=sys.stderr, flush=True)
    relay = start_relay()  # jobs committed while Redis was away reach RQ as soon as it answers
    recovery = start_recovery()  # texts a killed worker left behind, on this worker's own clock
    # A killed worker's scheduler lock is freed within seconds rather than a minute; maintenance takes it.
    watch = start_periodic("textdesk-scheduler-watch", SCHEDULER_WATCH_SECONDS, release_dead_scheduler_locks)
    gc.freeze()  # what start-up loaded lives as long as the worker: out of the collector's full passes
    try:
        worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    finally:
        for thread in (relay, recovery, watch):
            thread.set()


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


def cmd_account_secret(args: argparse.Namespace) -> None:
    def read(session: Any) -> Account:
        account = session.get(Account, args.account_id)
        if account is None:
            _die(f"no account {args.account_id} (`textdesk account create` prints the id)")
        if args.rotate:  # the old secret stops working at once: update the scheduler widget too
            rotate_webhook_secret(session, account)
        return account

    account = _in_session(read)
    _emit(args, account.webhook_secret, {"id": account.id, "webhook_secret": account.webhook_secret})


def cmd_number_add(args: argparse.Namespace) -> None:
    defaulted = not (args.transactional or args.marketing)
    if defaulted:
        args.transactional = True  # a number registered for nothing could never send
    number = _in_session(lambda s: add_number(s, args.account_id, args.phone, args.transactional, args.marketing,
                                              args.mps, args.messaging_service_sid))
    kinds = " and ".join(k for k, on in (("transactional", number.transactional), ("marketing", number.marketing)) if on)
    why = " (the default; pass --transactional and/or --marketing to choose)" if defaulted else ""
    _emit(args, f"added {number.phone} to account {number.account_id}: registered for {kinds} texts{why}, "
                f"sending at most {number.mps} text(s) per second",
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
    settings = settings_for(args.host, args.port)
    claimed = claim_or_exit(settings, args.host, args.port)  # before anything is touched: a running demo keeps its login
    try:
        login = _in_session(seed)
        print(f"demo account {login.account.id}: {login.account.name}")
        if login.password is None:
            print(f"log in at {settings.public_url}/login as {login.email} (its password was changed since the "
                  f"first start; reset it with `textdesk user create` for a new login)")
        else:
            print(f"log in at {settings.public_url}/login as {login.email} / {login.password}")
        print(f"scheduler webhook secret: {login.account.webhook_secret} "
              f"(`textdesk account secret {login.account.id}` prints it again)")
        serve(settings, args.host, args.port, args.with_worker)
    finally:
        claimed.release()


def cmd_serve(args: argparse.Namespace) -> None:
    settings = settings_for(args.host, args.port)
    claimed = claim_or_exit(settings, args.host, args.port)
    try:
        serve(settings, args.host, args.port, args.with_worker)
    finally:
        claimed.release()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textdesk", description="SMS inbox and AI follow-up agent")
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8000,
                       help="port to listen on (default 8000); TEXTDESK_PUBLIC_URL follows it unless set")
        p.add_argument("--with-worker", action="store_true",
                       help="also start one RQ worker when TEXTDESK_REDIS_URL is set")

    p = sub.add_parser("serve", help="run the web app (and, embedded, Redis and a worker)")
    serve_args(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run an RQ worker with the scheduler")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    accounts = sub.add_parser("account", help="accounts: create one, print its scheduler webhook secret")
    account = accounts.add_subparsers(dest="action", required=True)
    p = account.add_parser("create", help="create an account")
    p.add_argument("name", help="the business's name, as customers see it in texts")
    p.add_argument("--timezone", required=True, help="IANA time zone of the business, e.g. America/Chicago")
    p.add_argument("--scheduler-url", help="booking page URL template for follow-up links, "
                                            "e.g. https://book.example.com/new?name={{ name }}&phone={{ phone }}")
    p.add_argument("--followup-mode", choices=("link", "agent"), default="link",
                   help="what an abandoned booking gets: a link back to the scheduler, or the AI agent")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_account_create)
    p = account.add_parser("secret", help="print an account's scheduler webhook secret")
    p.add_argument("account_id", type=int, help="the account's id (printed by `account create`)")
    p.add_argument("--rotate", action="store_true", help="replace it with a new secret first (the old one stops working)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_account_secret)

    number = sub.add_parser("number", help="sending numbers: register one").add_subparsers(dest="action", required=True)
    p = number.add_parser("add", help="register a sending number")
    p.add_argument("account_id", help="the account's id")
    p.add_argument("phone", help="the number in E.164, e.g. +14155550100")
    p.add_argument("--transactional", action="store_true",
                   help="registered for transactional texts (replies, follow-ups); the default if neither is given")
    p.add_argument("--marketing", action="store_true", help="registered for marketing texts")
    p.add_argument("--mps", type=int, default=1, help="texts per second the number may send (default 1)")
    p.add_argument("--messaging-service-sid", help="the Twilio Messaging Service (MG…) the number belongs to")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_number_add)
    add_number_commands(number)

    user = sub.add_parser("user", help="logins: create one").add_subparsers(dest="action", required=True)
    p = user.add_parser("create", help="create a CSR login")
    p.add_argument("account_id", help="the account's id")
    p.add_argument("email", help="the login email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--role", choices=("csr", "admin"), default="csr",
                   help="csr answers threads; admin also edits settings and saved replies")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_user_create)
    add_user_commands(user)
    add_calendar_commands(sub)

    token = sub.add_parser("token", help="API tokens: create one").add_subparsers(dest="action", required=True)
    p = token.add_parser("create", help="print a new API token for a user")
    p.add_argument("email", help="the user the token acts as")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
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
