"""Thread search finds message text (PostgreSQL full-text, SQLite substring), scoped to the account."""

from __future__ import annotations

from inbox.inbound import receive_sms
from tests.factories import make_tenant


def _text(session, tenant, phone: str, body: str, n: int) -> None:  # type: ignore[no-untyped-def]
    receive_sms(session, to=tenant.number.phone, from_=phone, body=body, provider_sid=f"SM{n:032d}")


def test_search_finds_a_thread_by_the_text_of_an_older_message(client, session) -> None:
    tenant = make_tenant(session)
    other = make_tenant(session, name="Other Co", phone="+14155550199", slug="other")
    _text(session, tenant, "+14155550123", "My water heater is leaking everywhere", 1)
    _text(session, tenant, "+14155550123", "thanks, see you then", 2)
    _text(session, tenant, "+14155550124", "Need a furnace tune-up", 3)
    _text(session, other, "+14155550125", "water heater too", 4)
    session.commit()

    def found(q: str) -> set[str]:
        rows = client.get("/api/v1/threads", params={"q": q}, headers=tenant.auth).json()
        return {r["contact"]["phone"] for r in rows}

    assert found("heater") == {"+14155550123"}  # not the other account's customer
    assert found("Water Heater") == {"+14155550123"}
    assert found("furnace") == {"+14155550124"}
    assert found("wat") == {"+14155550123"}  # a word still being typed
    assert found("dishwasher") == set()
    assert found("0124") == {"+14155550124"}  # phone digits still match


def test_search_with_symbols_is_not_an_error(client, session) -> None:
    tenant = make_tenant(session)
    _text(session, tenant, "+14155550123", "50% off? (today) & tomorrow!", 1)
    session.commit()
    for q in ["&", "!!", "50%", "(today)", "o'brien", ":*"]:
        response = client.get("/api/v1/threads", params={"q": q}, headers=tenant.auth)
        assert response.status_code == 200, (q, response.text)
