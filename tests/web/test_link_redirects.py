"""Tracked links lead only to the account's own scheduler; HEAD answers like GET and is never a click."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from followups.links import create_link
from followups.models import TrackedLink
from tests.factories import make_tenant

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.mark.parametrize("target", [
    "https://evil.example/phish", "https://book.example.com.evil.example/s/1", "http://book.example.com/s/1",
    "https://book.example.com:8443/s/1", "javascript:alert(1)", "https://user@evil.example/",
])
def test_a_link_to_anywhere_but_the_accounts_scheduler_is_404_and_counts_nothing(client, session, target) -> None:
    tenant = make_tenant(session)  # scheduler: https://book.example.com/new?…
    link = create_link(session, tenant.account.id, None, target)
    session.commit()
    response = client.get(f"/l/{link.code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers
    session.expire_all()
    row = session.scalars(select(TrackedLink)).one()
    assert row.click_count == 0 and row.preview_count == 0


def test_a_link_on_the_scheduler_host_redirects(client, session) -> None:
    tenant = make_tenant(session)
    link = create_link(session, tenant.account.id, None, "https://BOOK.example.com:443/s/sess_42?x=1")
    session.commit()
    response = client.get(f"/l/{link.code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "https://BOOK.example.com:443/s/sess_42?x=1"


def test_an_account_without_a_scheduler_url_has_no_redirects(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.scheduler_url_template = None
    link = create_link(session, tenant.account.id, None, "https://book.example.com/s/1")
    session.commit()
    assert client.get(f"/l/{link.code}", follow_redirects=False).status_code == 404


def test_head_answers_like_get_without_recording_a_click(client, session) -> None:
    tenant = make_tenant(session)
    link = create_link(session, tenant.account.id, None, "https://book.example.com/s/sess_42")
    session.commit()
    response = client.head(f"/l/{link.code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "https://book.example.com/s/sess_42"
    assert client.head("/l/nope", follow_redirects=False).status_code == 404
    session.expire_all()
    row = session.scalars(select(TrackedLink)).one()
    assert row.click_count == 0 and row.first_clicked_at is None


@pytest.mark.parametrize("code", ["%00", "x" * 500, "%ED%A0%80"])
def test_a_malformed_code_is_404(client, code) -> None:
    assert client.get(f"/l/{code}", follow_redirects=False).status_code == 404
