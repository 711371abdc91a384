"""Sessions exist only for people who logged in; providers and probes never touch them or Redis."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from core.embedded_redis import EmbeddedRedis
from core.queue import get_redis
from core.settings import reset_settings
from inbox.models import Message
from tests.factories import PASSWORD, make_tenant
from tests.webhooks.twilio_helpers import inbound_fields, post_signed, use_auth_token

COOKIE = "textdesk_session"
PUBLIC = os.environ["TEXTDESK_PUBLIC_URL"]


def _session_keys() -> list[bytes]:
    return list(get_redis().scan_iter("textdesk_sessions*"))


def test_a_hundred_health_checks_leave_no_session_key(client) -> None:
    for _ in range(100):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert "set-cookie" not in response.headers or COOKIE not in response.headers["set-cookie"]
    assert _session_keys() == []


@pytest.mark.parametrize("path", ["/login", "/inbox", "/api/v1/threads", "/", "/readyz", "/l/nope"])
def test_a_request_without_a_cookie_creates_no_session(client, path) -> None:
    client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
    assert _session_keys() == []
    assert COOKIE not in client.cookies


def test_only_login_creates_a_session(client, session) -> None:
    tenant = make_tenant(session)
    client.post("/login", data={"email": tenant.csr.email, "password": "wrong password"})
    assert _session_keys() == []
    client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD}, follow_redirects=False)
    assert len(_session_keys()) == 1
    for _ in range(3):
        assert client.get("/api/v1/threads").status_code == 200
    assert len(_session_keys()) == 1


@pytest.mark.parametrize("cookie", ["%FF", "a" * 64, "A" * 64, "../../etc", "null", "x" * 5000])
def test_a_malformed_or_invented_session_id_is_logged_out_and_never_stored(client, cookie) -> None:
    client.cookies.set(COOKIE, cookie)
    assert client.get("/healthz").status_code == 200
    response = client.get("/inbox", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")
    assert client.get("/api/v1/threads").status_code == 401
    assert client.get("/login").status_code == 200
    assert _session_keys() == []


def test_logout_deletes_the_stored_session(client, session) -> None:
    tenant = make_tenant(session)
    client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD}, follow_redirects=False)
    client.get("/inbox")
    token = client.cookies.get("csrftoken")
    client.post("/logout", headers={"x-csrftoken": token}, follow_redirects=False)
    assert _session_keys() == []
    assert client.get("/api/v1/threads").status_code == 401


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """The app on a Redis of its own, which the test may stop."""
    redis = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="textdesk-redis-down-")))
    shared = os.environ["TEXTDESK_REDIS_URL"]
    os.environ["TEXTDESK_REDIS_URL"] = redis.start()
    reset_settings()
    try:
        yield redis
    finally:
        redis.stop()
        os.environ["TEXTDESK_REDIS_URL"] = shared
        reset_settings()


def test_with_redis_stopped_health_and_a_signed_inbound_text_still_work(own_redis, session, monkeypatch) -> None:
    from web.app import create_app

    make_tenant(session)
    use_auth_token(monkeypatch)
    with TestClient(create_app(), base_url=PUBLIC) as client:
        own_redis.stop()
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["problems"] == ["redis unreachable"]
        response = post_signed(client, "/webhooks/twilio/messages", inbound_fields(body="Are you open today?"))
        stored = session.scalar(select(Message.body).where(Message.direction == "inbound"))
        # Either kept and acknowledged, or refused so that the provider retries: never a 200 that lost it.
        assert (response.status_code == 200 and stored == "Are you open today?") or response.status_code == 503
        assert client.get("/login").status_code == 200
        page = client.get("/inbox", headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code in (302, 303)
        # Logging in needs Redis (limits, the session): a 503 that says to come back, not a 500.
        login = client.post("/login", data={"email": "csr@reyes.example", "password": "whatever"})
        assert login.status_code == 503 and login.headers["retry-after"]
