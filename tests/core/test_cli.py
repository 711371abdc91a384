"""The command line, run as a user runs it: a real process against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from inbox.accounts import user_for_token
from inbox.inbound import receive_sms
from inbox.models import Account, Message, SendingNumber, Thread, User
from inbox.sending import send_text
from tests.factories import make_tenant


def textdesk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web.cli", *args], input=stdin, capture_output=True, text=True,
                          env=dict(os.environ), timeout=60)


def test_account_number_user_token_flow(session) -> None:
    created = textdesk("account", "create", "Reyes Plumbing", "--timezone", "America/Los_Angeles",
                       "--scheduler-url", "https://book.example.com/new", "--followup-mode", "agent", "--json")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    assert len(account["webhook_secret"]) == 64

    added = textdesk("number", "add", str(account["id"]), "(415) 555-0100", "--marketing", "--mps", "3",
                     "--messaging-service-sid", "MG0123456789abcdef0123456789abcdef")
    assert added.returncode == 0, added.stderr
    assert "+14155550100" in added.stdout

    user = textdesk("user", "create", str(account["id"]), "Dana@Example.com", "--password-stdin", "--role", "admin",
                    "--json", stdin="a long enough password\n")
    assert user.returncode == 0, user.stderr

    token = textdesk("token", "create", "dana@example.com", "--json")
    assert token.returncode == 0, token.stderr

    row = session.get(Account, account["id"])
    assert row.followup_mode == "agent" and row.messaging_service_sid.startswith("MG")
    number = session.scalar(select(SendingNumber).where(SendingNumber.account_id == row.id))
    assert (number.phone, number.marketing, number.transactional, number.mps) == ("+14155550100", True, False, 3)
    stored = session.get(User, json.loads(user.stdout)["id"])
    assert stored.email == "dana@example.com" and stored.role == "admin"
    assert "a long enough password" not in stored.password_hash
    assert user_for_token(session, json.loads(token.stdout)["token"]).id == stored.id


def test_bad_input_exits_non_zero_with_a_clear_message(session) -> None:
    account = json.loads(textdesk("account", "create", "A", "--timezone", "America/Chicago", "--json").stdout)
    cases = [
        (("account", "create", "B", "--timezone", "Mars/Olympus"), "unknown time zone"),
        (("number", "add", str(account["id"]), "555-not-a-number"), "not a"),
        (("number", "add", "999999", "+14155550100"), "no account with id 999999"),
        (("user", "create", "999999", "x@example.com", "--password-stdin"), "no account with id 999999"),
        (("token", "create", "nobody@example.com"), "no user with email"),
    ]
    for args, message in cases:
        result = textdesk(*args, stdin="a long enough password\n")
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)

    first = textdesk("user", "create", str(account["id"]), "x@example.com", "--password-stdin",
                     stdin="a long enough password\n")
    assert first.returncode == 0
    again = textdesk("user", "create", str(account["id"]), "X@example.com", "--password-stdin",
                     stdin="a long enough password\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert session.scalar(select(Account).where(Account.name == "B")) is None


def test_bad_setting_stops_any_command_naming_the_variable() -> None:
    env = dict(os.environ, TEXTDESK_SMS_PROVIDER="fax")
    result = subprocess.run([sys.executable, "-m", "web.cli", "migrate"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 2
    assert "TEXTDESK_SMS_PROVIDER" in result.stderr


def test_worker_burst_runs_queued_jobs_on_the_configured_redis(session) -> None:
    """`textdesk worker --burst` picks up a real job (a text's delivery) from TEXTDESK_REDIS_URL and exits."""
    tenant = make_tenant(session)
    result = receive_sms(session, to=tenant.number.phone, from_="+14155550123", body="is anyone there?",
                         provider_sid="SM" + "1" * 32)
    session.commit()
    thread = session.get(Thread, result.message.thread_id)
    # A reply to a customer who just wrote is allowed at any hour, so this does not depend on the clock.
    reply = send_text(session, thread, "Yes, we can come tomorrow.", sender="csr", user_id=tenant.csr.id)
    session.commit()
    assert reply.decision == "send"
    worker = textdesk("worker", "--burst")
    assert worker.returncode == 0, worker.stderr
    session.expire_all()
    delivered = session.get(Message, reply.id)
    assert delivered.status in ("sent", "delivered") and delivered.provider_sid
