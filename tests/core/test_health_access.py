"""What /readyz and /metrics tell a caller who has not proved who they are."""

from __future__ import annotations

from redis import Redis

from core.settings import get_settings
from tests.web.peers import client_from


def test_readyz_names_what_is_down_and_nothing_about_where(client, monkeypatch) -> None:
    def refuse(self: Redis) -> None:
        raise ConnectionError("Error 111 connecting to redis.internal:6380. Connection refused.")

    monkeypatch.setattr(Redis, "ping", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "problems": ["redis unreachable"]}
    assert "6380" not in response.text and "internal" not in response.text


def test_metrics_without_a_token_configured_refuses_a_remote_caller(client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "TEXTDESK_METRICS_TOKEN" in response.json()["detail"]


def test_metrics_without_a_token_configured_answers_a_direct_loopback_caller(app) -> None:
    with client_from(app, "127.0.0.1") as local:
        assert local.get("/metrics").status_code == 200
        # The same host, but a proxy in between: the real caller may be anyone.
        assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403


def test_metrics_with_a_token_configured_wants_exactly_that_bearer(client, monkeypatch) -> None:
    monkeypatch.setenv("TEXTDESK_METRICS_TOKEN", "scrape-me-42")
    get_settings.cache_clear()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-42"})
    assert response.status_code == 200
    assert "textdesk_requests_total" in response.text
