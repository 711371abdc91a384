"""The settings page speaks one template syntax and shows (and keeps) a delay set in the environment."""

from __future__ import annotations

import re

from followups.links import prefilled_url
from tests.factories import make_tenant
from tests.web.helpers import login


def test_scheduler_url_takes_the_same_double_brace_variables_as_texts() -> None:
    url = prefilled_url("https://book.example.com/new?name={{ name }}&phone={{phone}}&job={job_type}",
                        name="Dana & Lee", phone="+14155550134", zip=None, job_type="Water heater")
    assert url == "https://book.example.com/new?name=Dana%20%26%20Lee&phone=%2B14155550134&job=Water%20heater"


def test_settings_page_names_only_double_brace_variables(client, session) -> None:
    tenant = make_tenant(session)
    tenant.account.scheduler_url_template = None  # only the page's own words, not an admin's stored URL
    session.commit()
    login(client, tenant.admin.email)
    page = client.get("/settings").text
    assert "{{ name }}" in page and "{{ first_name }}" in page
    assert not re.search(r"(?<!\{)\{(name|phone|zip|job_type)\}", page)


def test_delay_from_the_environment_is_shown_exactly_and_marked_as_the_default(client, session, monkeypatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("TEXTDESK_FOLLOWUP_DELAY_SECONDS", "30")
    get_settings.cache_clear()
    try:
        tenant = make_tenant(session)
        login(client, tenant.admin.email)
        page = client.get("/settings").text
        field = re.search(r'<input type="number" name="delay_minutes"[^>]*>', page).group(0)
        assert 'value="0.5"' in field and 'data-initial="0.5"' in field
        assert "TEXTDESK_FOLLOWUP_DELAY_SECONDS = 30 s" in page
        # What the page sends when the field was left alone: keep following the default.
        saved = client.put("/api/v1/followups/settings", json={"delay_seconds": None, "mode": "link"})
        assert saved.status_code == 200 and saved.json()["delay_seconds"] is None
        assert saved.json()["default_delay_seconds"] == 30
    finally:
        get_settings.cache_clear()
