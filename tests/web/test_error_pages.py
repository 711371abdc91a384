"""Errors are a page for a person's browser and `{"detail": …}` JSON for API clients; a favicon."""

from __future__ import annotations

import pytest
from litestar import get

from tests.factories import make_tenant
from tests.web.helpers import login

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def _is_page(response, status: int, text: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-status="{status}"' in response.text and text in response.text


def _is_json(response, status: int, detail: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert detail in response.json()["detail"]


def test_unknown_thread_is_a_404_page_for_a_browser_and_json_for_the_api(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    _is_page(client.get("/inbox/999", headers=HTML), 404, "thread 999 not found")
    _is_json(client.get("/inbox/999", headers=JSON), 404, "thread 999 not found")
    _is_json(client.get("/api/v1/threads/999", headers=HTML), 404, "thread 999 not found")


def test_unknown_url_is_a_404_page_for_a_browser_and_json_for_the_api(client) -> None:
    _is_page(client.get("/no/such/page", headers=HTML), 404, "Page not found")
    assert client.get("/no/such/page", headers=JSON).json()["status_code"] == 404


def test_csr_opening_settings_gets_a_403_page_and_the_api_a_403_json(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    _is_page(client.get("/settings", headers=HTML), 403, "Only an admin")
    _is_json(client.put("/api/v1/followups/settings", json={"mode": "link"}, headers=HTML), 403, "only an admin")


def test_unexpected_failure_is_a_500_page_for_a_browser_and_json_for_the_api(app) -> None:
    from litestar.testing import TestClient

    @get("/boom", exclude_from_auth=True, sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("the database said no")

    app.register(boom)
    with TestClient(app) as client:
        page = client.get("/boom", headers=HTML)
        _is_page(page, 500, "Something went wrong on our side")
        assert "the database said no" not in page.text  # internals stay in the log
        assert client.get("/boom", headers=JSON).json() == {"status_code": 500, "detail": "internal server error"}


@pytest.mark.parametrize("accept", [HTML["Accept"], "*/*"])
def test_a_bad_tracked_link_is_a_page_the_customer_can_read(client, accept: str) -> None:
    response = client.get("/l/nosuchcode", headers={"Accept": accept}, follow_redirects=False)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "This link does not work" in response.text and "reply to the text" in response.text
    assert client.get("/l/nosuchcode", headers=JSON).json()["detail"] == "this link does not exist"


def test_favicon_is_served_and_linked_from_every_page(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text
