"""The funnel API counts every step of the known history exactly, per variant and in total."""

from __future__ import annotations

import pytest

from tests.analytics import expected
from tests.analytics.history import SINCE, UNTIL, build


def test_funnel_counts_every_step_per_variant_and_in_total(client, session) -> None:
    h = build(session)
    report = client.get(f"/api/v1/funnel?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()
    assert report["variants"]["A"] == expected.A
    assert report["variants"]["B"] == expected.B
    assert report["total"] == expected.TOTAL
    assert list(report["variants"]) == ["A", "B"]
    assert report["attribution_window_days"] == 7
    # Made in October with no follow-up inside the window: A6 (on their own) and A7 (a rep, 8 days on).
    assert report["bookings_without_followup"] == {"csr": 1, "scheduler": 1}
    # The period is Los Angeles days: Oct 1 00:00 PDT to Nov 1 00:00 PDT.
    assert (report["since"], report["until"]) == ("2026-10-01T07:00:00+00:00", "2026-11-01T07:00:00+00:00")


def test_a_stop_is_an_opt_out_and_not_a_reply(client, session) -> None:
    h = build(session)
    a = client.get(f"/api/v1/funnel?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()["variants"]["A"]
    # A1 and A3 replied; A2 only texted STOP.
    assert (a["replied"], a["opted_out"]) == (2, 1)


def test_per_step_table_counts_contacts_at_each_step(client, session) -> None:
    h = build(session)
    report = client.get(f"/api/v1/funnel?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()
    assert report["steps"] == expected.STEPS


def test_a_longer_attribution_window_credits_the_late_rep_booking(client, session) -> None:
    h = build(session)
    response = client.put("/api/v1/analytics/settings", json={"attribution_window_days": 9}, headers=h.tenant.auth)
    assert response.status_code == 200
    a = client.get(f"/api/v1/funnel?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()["variants"]["A"]
    # A7's rep booking came 8 days after the text: inside 9 days, outside the default 7.
    assert a["booked"] == {"total": 3, "agent": 1, "link": 1, "rep": 1}


def test_only_the_period_in_the_accounts_time_zone_counts(client, session) -> None:
    h = build(session)
    # Sep 30 in Los Angeles holds only X (abandoned 23:30 PDT, already Oct 1 in UTC).
    report = client.get("/api/v1/funnel?since=2026-09-30&until=2026-09-30", headers=h.tenant.auth).json()
    assert report["total"]["abandoned"] == 1
    assert report["total"]["booked"]["total"] == 1
    # Oct 31 holds only B10 (abandoned 23:50 PDT, already Nov 1 in UTC).
    report = client.get("/api/v1/funnel?since=2026-10-31&until=2026-10-31", headers=h.tenant.auth).json()
    assert report["variants"]["B"]["scheduled"] == 1 and report["total"]["abandoned"] == 1


def test_another_accounts_history_never_shows(client, session) -> None:
    h = build(session)
    theirs = client.get(f"/api/v1/funnel?since={SINCE}&until={UNTIL}", headers=h.other.auth).json()
    assert theirs["total"]["sent"] == 1 and theirs["total"]["booked"]["total"] == 1
    assert list(theirs["variants"]) == ["A"]


@pytest.mark.parametrize(("query", "says"), [
    ("since=last-tuesday", "since"),
    ("until=2026-13-01", "until"),
    ("since=2026-10-05&until=2026-10-01", "before"),
    ("since=2026-10-01T08:00:00", "offset"),
    ("since=2024-01-01&until=2026-01-01", "366"),
])
def test_bad_periods_are_a_400_saying_why(client, session, query: str, says: str) -> None:
    h = build(session)
    for route in ("/api/v1/funnel", "/api/v1/analytics/experiment", "/api/v1/analytics/funnel.csv",
                  "/api/v1/bookings.csv"):
        response = client.get(f"{route}?{query}", headers=h.tenant.auth)
        assert response.status_code == 400, route
        assert says in response.json()["detail"], route


def test_analytics_requires_login(client) -> None:
    for route in ("/api/v1/funnel", "/api/v1/analytics/tiles", "/api/v1/analytics/experiment",
                  "/api/v1/analytics/funnel.csv", "/api/v1/bookings.csv"):
        assert client.get(route).status_code == 401, route


def test_only_admins_set_the_window_and_only_to_whole_days(client, session) -> None:
    h = build(session)
    from tests.web.helpers import login

    assert client.put("/api/v1/analytics/settings", json={"attribution_window_days": 0},
                      headers=h.tenant.auth).json()["detail"].startswith("attribution_window_days")
    assert client.put("/api/v1/analytics/settings", json={"window": 3}, headers=h.tenant.auth).status_code == 400
    login(client, h.tenant.csr.email)
    csrf = client.cookies.get("csrftoken", "")
    response = client.put("/api/v1/analytics/settings", json={"attribution_window_days": 3},
                          headers={"x-csrftoken": csrf})
    assert response.status_code == 403
    assert client.get("/api/v1/analytics/settings").json() == {"attribution_window_days": 7}


def test_agent_usage_counts_the_periods_llm_calls_of_the_callers_account(client, session) -> None:
    from agent.models import LlmCall
    from tests.analytics.history import la

    h = build(session)
    for account, latency, at in ((h.tenant.account.id, 300, la(10, 5)), (h.tenant.account.id, 500, la(10, 6)),
                                 (h.tenant.account.id, 900, la(11, 2)), (h.other.account.id, 100, la(10, 5))):
        session.add(LlmCall(account_id=account, model="m", prompt_tokens=10, completion_tokens=5, latency_ms=latency,
                            ok=latency != 500, created_at=at))
    session.commit()
    agent = client.get(f"/api/v1/funnel?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()["agent"]
    # November's call is outside the period; the failed call has no latency to count.
    assert agent == {"calls": 2, "failed": 1, "prompt_tokens": 20, "completion_tokens": 10, "latency_p50_ms": 300}
