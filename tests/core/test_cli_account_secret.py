"""`textdesk account secret`, `number add` wording and the CLI's option help."""

from __future__ import annotations

import json

from inbox.models import Account
from tests.core.test_cli import textdesk


def test_account_secret_prints_the_scheduler_secret_and_rotate_replaces_it(session) -> None:
    created = json.loads(textdesk("account", "create", "Reyes", "--timezone", "America/Chicago", "--json").stdout)
    shown = textdesk("account", "secret", str(created["id"]))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == created["webhook_secret"]

    rotated = textdesk("account", "secret", str(created["id"]), "--rotate", "--json")
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)["webhook_secret"]
    assert new != created["webhook_secret"] and len(new) == 64
    assert session.get(Account, created["id"]).webhook_secret == new


def test_account_secret_of_an_unknown_account_says_so() -> None:
    result = textdesk("account", "secret", "999999")
    assert result.returncode == 2
    assert "no account 999999" in result.stderr


def test_number_add_says_which_registration_it_defaulted_to(session) -> None:
    created = json.loads(textdesk("account", "create", "Reyes", "--timezone", "America/Chicago", "--json").stdout)
    added = textdesk("number", "add", str(created["id"]), "+14155550100")
    assert "registered for transactional texts (the default; pass --transactional and/or --marketing" in added.stdout
    chosen = textdesk("number", "add", str(created["id"]), "+14155550101", "--marketing")
    assert "registered for marketing texts," in chosen.stdout and "default" not in chosen.stdout


def test_every_cli_option_has_help_text() -> None:
    import argparse

    from web.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{path} {action.dest}")
        return missing

    assert walk(build_parser(), "textdesk") == []
