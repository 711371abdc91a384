"""The webhook-endpoints API: admins only, account-scoped, field-named 422s, and no way into the
business's own network."""

from __future__ import annotations

import pytest

from inbox.accounts import create_token
from tests.factories import make_tenant
from tests.integrations.helpers import HOOK_URL, allow_private, book, deliveries, integrated_shop
from tests.web.helpers import login

API = "/api/v1/webhook-endpoints"
PRIVATE_URLS = [
    "http://127.0.0.1:8000/webhooks/scheduler",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.9/hook",
    "https://192.168.1.20/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9000/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 spelled as one number
    "http://0x7f.1/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_loopback_private_and_link_local_urls_are_refused(client, session, url):
    tenant = make_tenant(session)
    response = client.post(API, headers=tenant.auth, json={"url": url, "events": ["booking.created"]})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("url: ") and "TEXTDESK_WEBHOOKS_ALLOW_PRIVATE" in response.json()["detail"]
    assert client.get(API, headers=tenant.auth).json() == []


def test_a_host_that_does_not_resolve_is_refused(client, session):
    tenant = make_tenant(session)
    response = client.post(API, headers=tenant.auth, json={"url": "https://hooks.nonexistent.invalid/x",
                                                           "events": ["booking.created"]})
    assert response.status_code == 422 and response.json()["detail"].startswith("url: ")
    assert "does not resolve" in response.json()["detail"]


def test_private_urls_are_allowed_when_the_operator_says_so(client, session, monkeypatch):
    allow_private(monkeypatch)
    tenant = make_tenant(session)
    response = client.post(API, headers=tenant.auth, json={"url": "http://127.0.0.1:5678/webhook/n8n",
                                                           "events": ["booking.created"]})
    assert response.status_code == 201 and response.json()["url"] == "http://127.0.0.1:5678/webhook/n8n"


def test_a_public_address_is_accepted_and_the_secret_is_shown_only_once(client, session):
    tenant = make_tenant(session)
    created = client.post(API, headers=tenant.auth, json={"url": "https://93.184.215.14/hooks",
                                                          "events": ["booking.created", "contact.opted_out"]})
    assert created.status_code == 201
    body = created.json()
    assert set(body) >= {"id", "url", "events", "secret"} and body["secret"].startswith("whsec_")
    assert body["events"] == ["booking.created", "contact.opted_out"]
    listed = client.get(API, headers=tenant.auth).json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]


def test_a_url_that_becomes_private_is_not_called_at_send_time(client, session, worker, monkeypatch):
    allow_private(monkeypatch)
    setup = integrated_shop(client, session, url="http://10.0.0.7/hook")
    allow_private(monkeypatch, False)
    book(session, setup.shop)
    worker()  # no respx: a real request would fail differently than the refusal below
    row = deliveries(session)[0]
    assert (row.status, row.attempt, row.status_code) == ("pending", 1, None)
    assert "private" in row.error and row.next_attempt_at is not None


@pytest.mark.parametrize(("body", "field"), [
    ({"events": ["booking.created"]}, "url"),
    ({"url": "ftp://files.example.com/x", "events": ["booking.created"]}, "url"),
    ({"url": "https://93.184.215.14:http/", "events": ["booking.created"]}, "url"),
    ({"url": HOOK_URL, "events": []}, "events"),
    ({"url": HOOK_URL, "events": "booking.created"}, "events"),
    ({"url": HOOK_URL, "events": ["booking.created", "booking.made"]}, "events[1]"),
])
def test_bad_fields_are_422s_naming_the_field(client, session, monkeypatch, body, field):
    allow_private(monkeypatch)  # only the field's own rule is under test
    tenant = make_tenant(session)
    response = client.post(API, headers=tenant.auth, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")


def test_another_accounts_endpoint_is_404_and_never_listed(client, session, monkeypatch):
    allow_private(monkeypatch)
    theirs = integrated_shop(client, session)
    ours = make_tenant(session, name="Other HVAC", phone="+14155550199", slug="other")
    booking_id = book(session, theirs.shop).id
    assert booking_id and len(deliveries(session)) == 1
    endpoint_id, webhook_id = theirs.endpoint["id"], deliveries(session)[0].webhook_id
    assert client.get(API, headers=ours.auth).json() == []
    assert client.get(f"{API}/{endpoint_id}/deliveries", headers=ours.auth).status_code == 404
    assert client.post(f"{API}/{endpoint_id}/deliveries/{webhook_id}/resend", headers=ours.auth).status_code == 404
    assert client.delete(f"{API}/{endpoint_id}", headers=ours.auth).status_code == 404
    assert [e["id"] for e in client.get(API, headers=theirs.tenant.auth).json()] == [endpoint_id]


def test_only_admins_manage_endpoints(client, session):
    tenant = make_tenant(session)
    token = create_token(session, tenant.csr.email)
    session.commit()
    csr = {"Authorization": f"Bearer {token}"}
    assert client.get(API, headers=csr).status_code == 403
    assert client.post(API, headers=csr, json={"url": HOOK_URL, "events": ["booking.created"]}).status_code == 403
    assert client.get("/api/v1/webhook-endpoints", headers={}).status_code == 401


def test_removing_an_endpoint_stops_its_deliveries(client, session, worker, monkeypatch):
    allow_private(monkeypatch)
    setup = integrated_shop(client, session)
    remaining = client.delete(f"{API}/{setup.endpoint['id']}", headers=setup.tenant.auth)
    assert remaining.status_code == 200 and remaining.json() == []
    book(session, setup.shop)
    assert deliveries(session) == []


def test_admin_page_lists_endpoints_and_is_in_the_nav(client, session, monkeypatch):
    allow_private(monkeypatch)
    setup = integrated_shop(client, session)
    login(client, setup.tenant.admin.email)
    page = client.get("/integrations")
    assert page.status_code == 200
    assert 'href="/integrations"' in page.text and HOOK_URL in page.text and "/static/integrations.js" in page.text
    assert setup.endpoint["secret"] not in page.text
    client.cookies.clear()
    login(client, setup.tenant.csr.email)
    assert 'href="/integrations"' not in client.get("/inbox").text
    assert client.get("/integrations").status_code == 403


def test_a_paused_endpoint_gets_nothing_until_resumed(client, session, monkeypatch):
    allow_private(monkeypatch)
    setup = integrated_shop(client, session)
    url = f"{API}/{setup.endpoint['id']}"
    paused = client.patch(url, headers=setup.tenant.auth, json={"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    book(session, setup.shop)
    assert deliveries(session) == []
    resumed = client.patch(url, headers=setup.tenant.auth, json={"active": True, "events": ["booking.cancelled"]})
    assert resumed.json()["events"] == ["booking.cancelled"]
    bad = client.patch(url, headers=setup.tenant.auth, json={"url": "https://elsewhere.example/"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("url: ")
    assert client.patch(url, headers=setup.tenant.auth, json={"active": "no"}).json()["detail"].startswith("active: ")
