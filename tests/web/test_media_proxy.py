"""A customer's MMS picture reaches the rep through textdesk, never from the texter's URL directly."""

from __future__ import annotations

import dataclasses

import httpx
import respx

from core.settings import get_settings
from inbox.models import Message
from tests.factories import make_tenant
from tests.web.helpers import make_thread
from web import api_media

MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
JPEG = b"\xff\xd8\xff\xe0 not really a photo"


def _picture(session, tenant, url: str = MEDIA, content_type: str = "image/jpeg") -> Message:  # type: ignore[no-untyped-def]
    thread = make_thread(session, tenant)
    message = session.query(Message).filter_by(thread_id=thread.id).one()
    message.attachments = [{"url": url, "content_type": content_type}]
    session.commit()
    return message


def test_a_provider_hosted_picture_is_fetched_with_the_twilio_credentials(client, session, monkeypatch) -> None:
    tenant = make_tenant(session)
    message = _picture(session, tenant)
    settings = dataclasses.replace(get_settings(), twilio_account_sid="AC1", twilio_auth_token="secret-token")
    monkeypatch.setattr(api_media, "get_settings", lambda: settings)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(MEDIA).mock(return_value=httpx.Response(
            307, headers={"location": "https://media.cdn.example/ME1.jpg"}))
        router.get("https://media.cdn.example/ME1.jpg").mock(
            return_value=httpx.Response(200, content=JPEG, headers={"content-type": "image/jpeg"}))
        response = client.get(f"/api/v1/messages/{message.id}/media/0", headers=tenant.auth)
    assert response.status_code == 200 and response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert route.calls.last.request.headers["authorization"].startswith("Basic ")


def test_a_file_that_is_not_an_image_is_a_download_never_a_page(client, session) -> None:
    tenant = make_tenant(session)
    message = _picture(session, tenant, content_type="text/html")
    with respx.mock() as router:
        router.get(MEDIA).mock(return_value=httpx.Response(
            200, content=b"<script>alert(1)</script>", headers={"content-type": "text/html"}))
        response = client.get(f"/api/v1/messages/{message.id}/media/0", headers=tenant.auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/octet-stream")
    assert response.headers["content-disposition"].startswith("attachment")


def test_a_url_off_the_provider_host_is_never_fetched(client, session) -> None:
    tenant = make_tenant(session)
    message = _picture(session, tenant, url="http://169.254.169.254/latest/meta-data/")
    with respx.mock() as router:
        response = client.get(f"/api/v1/messages/{message.id}/media/0", headers=tenant.auth)
        assert not router.calls
    assert response.status_code == 404


def test_another_accounts_picture_and_a_stranger_get_nothing(client, session) -> None:
    tenant = make_tenant(session)
    other = make_tenant(session, name="Other", phone="+14155550199", slug="other")
    message = _picture(session, tenant)
    assert client.get(f"/api/v1/messages/{message.id}/media/0", headers=other.auth).status_code == 404
    assert client.get(f"/api/v1/messages/{message.id}/media/0").status_code == 401
    assert client.get(f"/api/v1/messages/{message.id}/media/1", headers=tenant.auth).status_code == 404


def test_a_provider_failure_is_a_404_not_a_server_error(client, session) -> None:
    tenant = make_tenant(session)
    message = _picture(session, tenant)
    with respx.mock() as router:
        router.get(MEDIA).mock(side_effect=httpx.ConnectTimeout("slow"))
        assert client.get(f"/api/v1/messages/{message.id}/media/0", headers=tenant.auth).status_code == 404
        router.get(MEDIA).mock(return_value=httpx.Response(500))
        assert client.get(f"/api/v1/messages/{message.id}/media/0", headers=tenant.auth).status_code == 404
