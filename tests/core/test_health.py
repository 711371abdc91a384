from __future__ import annotations


def test_healthz_answers_without_login(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_redis_ok(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["redis"] == "ok"


def test_readyz_names_redis_when_it_is_unreachable(client, monkeypatch) -> None:
    from redis import Redis

    def refuse(self: Redis) -> None:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(Redis, "ping", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert any(p.startswith("redis unreachable") for p in response.json()["problems"])


def test_metrics_exposes_request_counts_and_queue_depths(client, monkeypatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("TEXTDESK_METRICS_TOKEN", "scrape-token")
    get_settings.cache_clear()
    client.get("/login")  # probes (/healthz, /readyz) are left out of the request metrics
    body = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"}).text
    assert "textdesk_requests_total" in body
    assert "textdesk_request_duration_seconds" in body
    assert 'textdesk_queue_jobs{queue="default",state="queued"}' in body


def test_openapi_schema_is_served(client) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "textdesk"
