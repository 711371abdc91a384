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
