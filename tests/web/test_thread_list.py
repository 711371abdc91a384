"""The thread list as the inbox loads it."""

from __future__ import annotations

from inbox.inbound import receive_sms
from tests.factories import make_tenant


def test_thread_list_shows_each_threads_newest_message_as_its_preview(client, session) -> None:
    tenant = make_tenant(session)
    receive_sms(session, to=tenant.number.phone, from_="+14155550123", body="first", provider_sid="SM" + "a" * 32)
    receive_sms(session, to=tenant.number.phone, from_="+14155550123", body="my water heater is leaking",
                provider_sid="SM" + "b" * 32)
    receive_sms(session, to=tenant.number.phone, from_="+14155550124", body="other customer",
                provider_sid="SM" + "c" * 32)
    session.commit()
    rows = client.get("/api/v1/threads", headers=tenant.auth).json()
    assert {r["contact"]["display_phone"]: r["preview"] for r in rows} == {
        "(415) 555-0123": "my water heater is leaking", "(415) 555-0124": "other customer"}


def test_inbox_says_how_to_turn_the_agent_on_when_no_llm_is_configured(client, session, monkeypatch) -> None:
    tenant = make_tenant(session)
    page = client.get("/inbox", headers=tenant.auth)
    assert 'id="agent-off"' in page.text and "OPENAI_API_KEY" in page.text

    from core.settings import get_settings

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    get_settings.cache_clear()
    try:
        assert 'id="agent-off"' not in client.get("/inbox", headers=tenant.auth).text
    finally:
        monkeypatch.delenv("OPENAI_BASE_URL")
        get_settings.cache_clear()
