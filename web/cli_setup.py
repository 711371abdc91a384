"""`textdesk calendar|user|number …`: the Business setup commands a script wants (docs/cli.md).

`calendar set` takes the JSON of `GET /api/v1/calendar` (what it leaves out keeps its value) and
is checked exactly like `PUT /api/v1/calendar`. Bad input exits 2 with a line naming what to fix.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from bookings import calendar_config
from core.db import session_scope
from core.migrate import upgrade
from inbox import accounts
from inbox.accounts import ValidationError

EXIT_USAGE = 2


def _fail(message: str) -> NoReturn:
    print(f"textdesk: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _run(fn: Callable[[Any], Any]) -> Any:
    upgrade()
    try:
        with session_scope() as session:
            return fn(session)
    except (ValidationError, calendar_config.CalendarInvalid) as exc:
        _fail(str(exc))


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{path} is not JSON: {exc}")


def cmd_calendar_show(args: argparse.Namespace) -> None:
    print(json.dumps(_run(lambda s: calendar_config.read(s, accounts.get_account(s, args.account_id))), indent=2))


def cmd_calendar_set(args: argparse.Namespace) -> None:
    data = _read_json(args.file)
    print(json.dumps(_run(lambda s: calendar_config.update(s, accounts.get_account(s, args.account_id), data)),
                     indent=2))


def cmd_user_list(args: argparse.Namespace) -> None:
    def rows(session: Any) -> list[dict[str, Any]]:
        account = accounts.get_account(session, args.account_id)
        return [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "active": u.active}
                for u in accounts.account_users(session, account.id)]

    users = _run(rows)
    if args.json:
        print(json.dumps(users))
        return
    for u in users:
        print(f"{u['id']}\t{u['email']}\t{u['name']}\t{u['role']}\t{'active' if u['active'] else 'deactivated'}")


def cmd_user_deactivate(args: argparse.Namespace) -> None:
    email = _run(lambda s: accounts.update_user(s, accounts.user_by_email(s, args.email), active=False).email)
    print(f"deactivated {email}: they cannot log in and their API tokens stop working")


def cmd_user_reset_password(args: argparse.Namespace) -> None:
    if not args.password_stdin:
        _fail("pass the new password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    email = _run(lambda s: accounts.reset_password(s, accounts.user_by_email(s, args.email), password).email)
    print(f"password changed for {email}")


def cmd_number_list(args: argparse.Namespace) -> None:
    def rows(session: Any) -> list[dict[str, Any]]:
        account = accounts.get_account(session, args.account_id)
        return [{"id": n.id, "phone": n.phone, "transactional": n.transactional, "marketing": n.marketing,
                 "mps": n.mps, "messaging_service_sid": n.messaging_service_sid}
                for n in accounts.account_numbers(session, account.id)]

    numbers = _run(rows)
    if args.json:
        print(json.dumps(numbers))
        return
    for n in numbers:
        kinds = ",".join(k for k in ("transactional", "marketing") if n[k]) or "-"
        print(f"{n['phone']}\t{kinds}\t{n['mps']} msg/s\t{n['messaging_service_sid'] or ''}".rstrip())


def cmd_number_remove(args: argparse.Namespace) -> None:
    phone = _run(lambda s: accounts.remove_number(s, args.phone).phone)
    print(f"removed {phone}: textdesk no longer sends from it")


def add_calendar_commands(sub: Any) -> None:
    calendar = sub.add_parser("calendar", help="show or set an account's calendar").add_subparsers(
        dest="action", required=True)
    p = calendar.add_parser("show", help="print the calendar as JSON (the API's shape)")
    p.add_argument("account_id", help="the account's id")
    p.set_defaults(func=cmd_calendar_show)
    p = calendar.add_parser("set", help="set the calendar from a JSON file ('-': standard input)")
    p.add_argument("account_id", help="the account's id")
    p.add_argument("file", help="a JSON file in the shape `calendar show` prints, or - for standard input")
    p.set_defaults(func=cmd_calendar_set)


def add_user_commands(user: Any) -> None:
    p = user.add_parser("list", help="list an account's users")
    p.add_argument("account_id", help="the account's id")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text (for scripts)")
    p.set_defaults(func=cmd_user_list)
    p = user.add_parser("deactivate", help="stop a user logging in (and their API tokens)")
    p.add_argument("email", help="the user's login email")
    p.set_defaults(func=cmd_user_deactivate)
    p = user.add_parser("reset-password", help="set a user's password")
    p.add_argument("email", help="the user's login email")
    p.add_argument("--password-stdin", action="store_true", help="read the new password from the first line of stdin")
    p.set_defaults(func=cmd_user_reset_password)


def add_number_commands(number: Any) -> None:
    p = number.add_parser("list", help="list an account's sending numbers")
    p.add_argument("account_id", help="the account's id")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text (for scripts)")
    p.set_defaults(func=cmd_number_list)
    p = number.add_parser("remove", help="stop sending from a number")
    p.add_argument("phone", help="the number in E.164, e.g. +14155550100")
    p.set_defaults(func=cmd_number_remove)
