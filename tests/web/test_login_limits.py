"""Failed-login limits: atomic under parallel guesses, per email and address, proxies trusted only when configured,
and no stranger can lock a rep out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from core.settings import Settings, get_settings
from tests.factories import PASSWORD, make_tenant
from tests.web.peers import client_from
from web import logins, pages
from web.logins import ADDRESS_LIMIT, PAIR_LIMIT, login_succeeded, proxy_headers_config, reserve_attempt

REP = "rep@reyes.example"


def _proxies() -> list[str]:
    return proxy_headers_config(get_settings())["forwarded_allow_ips"]


def test_parallel_reservations_let_exactly_the_limit_through() -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: reserve_attempt(REP, "198.51.100.7").allowed, range(40)))
    assert results.count(True) == PAIR_LIMIT


def test_forty_parallel_wrong_passwords_reach_the_password_check_at_most_five_times(app, session, monkeypatch) -> None:
    tenant = make_tenant(session)
    checks, lock = [0], threading.Lock()
    real = pages.authenticate

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            checks[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "authenticate", counting)
    with client_from(app, "198.51.100.7") as client, ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda _: client.post("/login", data={"email": tenant.csr.email,
                                                                     "password": "guess"}).status_code, range(40)))
    assert checks[0] <= PAIR_LIMIT
    assert codes.count(401) == checks[0] and codes.count(429) == 40 - checks[0]


def test_a_stranger_elsewhere_cannot_lock_the_rep_out(app, session) -> None:
    tenant = make_tenant(session)
    with client_from(app, "198.51.100.1") as client:
        for n in range(1, 9):  # eight addresses, five wrong passwords each: far past the per-email ceiling
            client.from_peer.peer = f"198.51.100.{n}"
            codes = [client.post("/login", data={"email": tenant.csr.email, "password": "guess"}).status_code
                     for _ in range(PAIR_LIMIT)]
            assert codes[0] == 401 and set(codes) <= {401, 429}
            assert client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD}).status_code == 429
        client.from_peer.peer = "203.0.113.5"
        response = client.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                               follow_redirects=False)
        assert response.status_code == 303


def test_past_the_email_ceiling_an_address_that_already_failed_is_slowed() -> None:
    for n in range(1, 6):
        for _ in range(4):
            assert reserve_attempt(REP, f"198.51.100.{n}").allowed
    # 20 failures on the email: addresses that failed before are refused, a clean one is not.
    assert not reserve_attempt(REP, "198.51.100.1").allowed
    assert reserve_attempt(REP, "203.0.113.5").allowed


def test_one_address_spraying_many_emails_is_refused_outright() -> None:
    for n in range(ADDRESS_LIMIT):
        assert reserve_attempt(f"user{n}@example.com", "198.51.100.7").allowed
    refused = reserve_attempt("someone.new@example.com", "198.51.100.7")
    assert not refused.allowed and refused.wait_seconds > 0


def test_a_right_password_gives_its_attempt_back_and_forgives_the_pairs_typos() -> None:
    for _ in range(PAIR_LIMIT - 1):
        reserve_attempt(REP, "198.51.100.7")
    login_succeeded(reserve_attempt(REP, "198.51.100.7"))
    assert all(reserve_attempt(REP, "198.51.100.7").allowed for _ in range(PAIR_LIMIT))


def test_rotating_x_forwarded_for_from_an_untrusted_peer_changes_nothing(app, session) -> None:
    tenant = make_tenant(session)
    with client_from(app, "198.51.100.7", _proxies()) as client:
        for n in range(PAIR_LIMIT):
            response = client.post("/login", data={"email": tenant.csr.email, "password": "guess"},
                                   headers={"X-Forwarded-For": f"203.0.113.{n}"})
            assert response.status_code == 401
        response = client.post("/login", data={"email": tenant.csr.email, "password": "guess"},
                               headers={"X-Forwarded-For": "203.0.113.99"})
        assert response.status_code == 429


def test_x_forwarded_for_names_the_client_when_the_peer_is_a_trusted_proxy(app, session, monkeypatch) -> None:
    tenant = make_tenant(session)
    monkeypatch.setenv("TEXTDESK_TRUSTED_PROXIES", "10.0.0.0/8")
    get_settings.cache_clear()
    assert _proxies() == ["10.0.0.0/8"]
    with client_from(app, "10.1.2.3", _proxies()) as proxy:
        for _ in range(PAIR_LIMIT):
            proxy.post("/login", data={"email": tenant.csr.email, "password": "guess"},
                       headers={"X-Forwarded-For": "203.0.113.1"})
        locked = proxy.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                            headers={"X-Forwarded-For": "203.0.113.1"})
        assert locked.status_code == 429
        other = proxy.post("/login", data={"email": tenant.csr.email, "password": PASSWORD},
                           headers={"X-Forwarded-For": "203.0.113.2"}, follow_redirects=False)
        assert other.status_code == 303


def test_serve_believes_forwarding_headers_only_when_proxies_are_configured() -> None:
    assert proxy_headers_config(Settings.from_env({})) == {"proxy_headers": False, "forwarded_allow_ips": []}
    configured = Settings.from_env({"TEXTDESK_TRUSTED_PROXIES": "10.0.0.0/8"})
    assert proxy_headers_config(configured) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.0/8"]}
    assert logins.WINDOW_SECONDS == 15 * 60
