"""Tracked links: the prefilled URL, taps versus previews, the redirect."""

from __future__ import annotations

from sqlalchemy import select

from followups.links import create_link, is_preview, prefilled_url
from followups.models import TrackedLink
from tests.factories import make_tenant

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
TEMPLATE = "https://book.example.com/new?name={name}&phone={phone}&zip={zip}&job={job_type}"


def test_prefilled_url_encodes_spaces_accents_and_ampersands_exactly() -> None:
    url = prefilled_url(TEMPLATE, name="José & Ana Núñez", phone="+14155550134", zip="94110",
                        job_type="Water heater repair")
    assert url == ("https://book.example.com/new?name=Jos%C3%A9%20%26%20Ana%20N%C3%BA%C3%B1ez"
                   "&phone=%2B14155550134&zip=94110&job=Water%20heater%20repair")


def test_prefilled_url_without_placeholders_appends_the_fields_as_query_parameters() -> None:
    url = prefilled_url("https://book.example.com/new?src=sms#top", name="Zoë O'Brien", phone="+14155550134",
                        zip=None, job_type="A/C = broken")
    assert url == ("https://book.example.com/new?src=sms&name=Zo%C3%AB%20O%27Brien&phone=%2B14155550134"
                   "&job_type=A%2FC%20%3D%20broken#top")


def test_tap_is_recorded_before_the_302_to_the_target(client, session) -> None:
    tenant = make_tenant(session)
    link = create_link(session, tenant.account.id, None, "https://book.example.com/s/sess_42")
    session.commit()
    first = client.get(f"/l/{link.code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    second = client.get(f"/l/{link.code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    assert first.status_code == 302 and first.headers["location"] == "https://book.example.com/s/sess_42"
    assert second.status_code == 302
    session.expire_all()
    row = session.scalars(select(TrackedLink)).one()
    assert row.click_count == 2 and row.preview_count == 0
    assert row.first_clicked_at is not None and row.last_clicked_at >= row.first_clicked_at


def test_link_previews_are_counted_as_previews_not_clicks(client, session) -> None:
    tenant = make_tenant(session)
    link = create_link(session, tenant.account.id, None, "https://book.example.com/s/1")
    session.commit()
    agents = ["facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage
              "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "WhatsApp/2.23.20.0 A",
              "Twitterbot/1.0", "Mozilla/5.0 (compatible; Proofpoint URL Defense)", ""]
    for agent in agents:
        assert client.get(f"/l/{link.code}", headers={"User-Agent": agent}, follow_redirects=False).status_code == 302
    session.expire_all()
    row = session.scalars(select(TrackedLink)).one()
    assert row.preview_count == len(agents) and row.click_count == 0 and row.first_clicked_at is None


def test_a_phone_browser_is_not_a_preview() -> None:
    assert not is_preview(IPHONE)
    assert not is_preview("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari")
    assert is_preview(IPHONE, method="HEAD")


def test_unknown_link_code_is_404(client, session) -> None:
    make_tenant(session)
    response = client.get("/l/nope", headers={"User-Agent": IPHONE}, follow_redirects=False)
    # A customer's phone gets a page it can show, not JSON (tests/web/test_error_pages.py has the rest).
    assert response.status_code == 404 and "This link does not work" in response.text
