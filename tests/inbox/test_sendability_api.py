from __future__ import annotations

from datetime import UTC, datetime

from inbox.models import Contact
from inbox.sending import check_sendability, next_allowed_time
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread


def _contact(session, tenant, **fields) -> Contact:
    thread = make_thread(session, tenant.account.id, **fields)
    session.commit()
    return session.get(Contact, thread.contact_id)


def test_sendability_says_allowed_with_no_reasons(session, client) -> None:
    tenant = make_tenant(session)
    contact = _contact(session, tenant, timezone=daytime_zone())
    response = client.get(f"/api/v1/contacts/{contact.id}/sendability", headers=tenant.auth)
    assert response.status_code == 200
    assert response.json()["allowed"] is True and response.json()["reasons"] == []
    assert response.json()["from_number"] == "+14155550100"


def test_sendability_lists_every_reason_for_marketing(session, client) -> None:
    tenant = make_tenant(session)
    contact = _contact(session, tenant, opted_out=True, timezone=daytime_zone())
    response = client.get(
        f"/api/v1/contacts/{contact.id}/sendability?category=marketing", headers=tenant.auth
    )
    body = response.json()
    assert body["allowed"] is False and body["reasons"] == ["opted_out", "no_consent"]
    assert "opted out" in body["detail"]


def test_sendability_of_another_accounts_contact_is_404(session, client) -> None:
    mine = make_tenant(session)
    theirs = make_tenant(session, name="Other Co", phone="+12125550100", slug="other")
    contact = _contact(session, theirs)
    response = client.get(f"/api/v1/contacts/{contact.id}/sendability", headers=mine.auth)
    assert response.status_code == 404


def test_sendability_rejects_an_unknown_category_by_name(session, client) -> None:
    tenant = make_tenant(session)
    contact = _contact(session, tenant)
    response = client.get(f"/api/v1/contacts/{contact.id}/sendability?category=spam", headers=tenant.auth)
    assert response.status_code == 400 and response.json()["detail"].startswith("category:")


def test_sendability_needs_a_login(session, client) -> None:
    tenant = make_tenant(session)
    contact = _contact(session, tenant)
    assert client.get(f"/api/v1/contacts/{contact.id}/sendability").status_code == 401


def test_quiet_hours_follow_the_recipients_zone_not_the_accounts(session) -> None:
    tenant = make_tenant(session)  # account in Los Angeles
    new_york = _contact(session, tenant, phone="+12125550134")
    los_angeles = _contact(session, tenant, phone="+14155550134")
    early = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # 9:30 New York, 6:30 Los Angeles
    late = datetime(2026, 11, 21, 4, 30, tzinfo=UTC)  # 23:30 New York, 20:30 Los Angeles
    assert check_sendability(session, new_york, now=early).allowed
    assert check_sendability(session, los_angeles, now=early).reasons == ["quiet_hours"]
    assert check_sendability(session, new_york, now=late).reasons == ["quiet_hours"]
    assert check_sendability(session, los_angeles, now=late).allowed
    decision = check_sendability(session, los_angeles, now=early)
    assert decision.retry_at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 8:00 Los Angeles
    assert "06:30" in decision.detail and "America/Los_Angeles" in decision.detail


def test_number_without_a_single_zone_falls_back_to_the_accounts(session) -> None:
    tenant = make_tenant(session, timezone="America/Chicago")
    toll_free = _contact(session, tenant, phone="+18005551212")
    at = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)  # 7:30 Chicago, 8:30 New York
    decision = check_sendability(session, toll_free, now=at)
    assert decision.reasons == ["quiet_hours"] and "America/Chicago" in decision.detail


def test_quiet_hours_edges_are_8_and_21_local() -> None:
    zone = "America/New_York"
    assert next_allowed_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), zone) is None  # 8:00 EDT
    assert next_allowed_time(datetime(2026, 7, 1, 11, 59, tzinfo=UTC), zone) == datetime(
        2026, 7, 1, 12, 0, tzinfo=UTC
    )
    assert next_allowed_time(datetime(2026, 7, 2, 0, 59, tzinfo=UTC), zone) is None  # 20:59 EDT
    assert next_allowed_time(datetime(2026, 7, 2, 1, 0, tzinfo=UTC), zone) == datetime(
        2026, 7, 2, 12, 0, tzinfo=UTC
    )


def test_reply_in_a_conversation_the_customer_started_ignores_quiet_hours(session) -> None:
    from inbox.inbound import receive_sms

    make_tenant(session)
    night = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # 23:00 Los Angeles
    result = receive_sms(
        session,
        to="+14155550100",
        from_="+14155550134",
        body="Pipe burst!! can someone come",
        provider_sid="SM" + "e" * 32,
        now=night,
    )
    assert check_sendability(session, result.contact, now=night).allowed
    assert check_sendability(session, result.contact, "marketing", now=night).reasons == [
        "no_consent",
        "quiet_hours",
    ]


def test_csr_text_in_quiet_hours_is_blocked_not_deferred(session) -> None:
    from inbox.sending import send_text

    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id)
    message = send_text(session, thread, "Hi!", sender="csr", now=datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    assert (message.status, message.block_reason, message.retry_at) == ("blocked", "quiet_hours", None)


def test_an_unknown_stored_zone_falls_back_to_the_numbers_zone(session) -> None:
    tenant = make_tenant(session)
    contact = _contact(session, tenant, phone="+12125550134", timezone="Mars/Olympus_Mons")
    early = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # 9:30 New York
    assert check_sendability(session, contact, now=early).allowed
