"""The follow-up settings page in a real browser: lint warnings appear as the admin types, and Save stores."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from inbox.models import Account
from tests.e2e.helpers import log_in
from tests.factories import make_tenant


def test_admin_sees_lint_warnings_while_typing_and_saves(new_page: Any, session: Any) -> None:
    tenant = make_tenant(session)
    page = new_page()
    log_in(page, tenant.admin.email)
    page.goto("/settings")
    lint = page.locator('[data-lint-for="template"]')
    expect(lint).to_contain_text("1 segment(s), GSM-7")
    page.fill("textarea[name=template]", "BOOK NOW at bit.ly/x 🔧🔥💧🚿 {{ link }}")
    expect(lint).to_contain_text("ALL CAPS")
    expect(lint).to_contain_text("public link shortener")
    expect(lint).to_contain_text("say who is texting")
    expect(lint).to_contain_text("UCS-2")
    page.fill("textarea[name=template]", "{{ business_name }}: finish booking {{ link }}")
    expect(lint).not_to_contain_text("ALL CAPS")
    page.fill("input[name=delay_minutes]", "20")
    page.click("#followup-settings button[type=submit]")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    session.expire_all()
    account = session.get(Account, tenant.account.id)
    assert account.followup_delay_seconds == 1200
    assert account.followup_template == "{{ business_name }}: finish booking {{ link }}"
