"""An unexpected error is a logged 500 with its traceback; Redis being away is a 503 to come back later."""

from __future__ import annotations

import logging

from redis.exceptions import ConnectionError as RedisConnectionError

from tests.factories import make_tenant
from web import api, pages


def test_an_unexpected_error_is_a_500_logged_with_its_traceback(client, session, monkeypatch, caplog) -> None:
    tenant = make_tenant(session)

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("thread list exploded")

    monkeypatch.setattr(api, "thread_query", broken)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        response = client.get("/api/v1/threads", headers=tenant.auth)
    assert response.status_code == 500
    assert "exploded" not in response.text  # the detail stays in the log
    record = next(r for r in caplog.records if r.name == "web.errors")
    assert "GET /api/v1/threads" in record.getMessage()
    assert record.exc_info is not None and "thread list exploded" in str(record.exc_info[1])


def test_redis_unreachable_during_a_request_is_a_503_with_retry_after(client, monkeypatch, caplog) -> None:
    def down(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(pages, "reserve_attempt", down)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        response = client.post("/login", data={"email": "rep@example.com", "password": "whatever"})
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert any(r.exc_info for r in caplog.records if r.name == "web.errors")


def test_a_client_error_is_not_logged_as_a_failure(client, session, caplog) -> None:
    tenant = make_tenant(session)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        assert client.get("/api/v1/threads/999", headers=tenant.auth).status_code == 404
    assert not [r for r in caplog.records if r.name == "web.errors"]
