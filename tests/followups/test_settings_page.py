"""The admin's follow-up settings page."""

from __future__ import annotations

from tests.factories import make_tenant
from tests.web.helpers import login


def test_admin_sees_the_settings_page_with_lint_warnings_and_the_script(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.followup_template = "BOOK NOW {{ link }}"
    session.commit()
    login(client, tenant.admin.email)
    page = client.get("/settings")
    assert page.status_code == 200
    assert "Follow-ups for Reyes Plumbing" in page.text and "/static/followup_settings.js" in page.text
    assert "all_caps" in page.text  # the current warnings travel in the page's initial JSON
    assert client.get("/static/followup_settings.js").status_code == 200


def test_csr_cannot_open_the_settings_page(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    assert client.get("/settings").status_code == 403


def test_settings_page_saves_through_the_api_with_the_csrf_header(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.admin.email)
    response = client.put("/api/v1/followups/settings", json={"delay_seconds": 300})
    assert response.status_code == 200 and response.json()["delay_seconds"] == 300
