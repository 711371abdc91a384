"""The dashboard page and the CSV exports show the known history's numbers exactly."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from tests.analytics import expected
from tests.analytics.history import SINCE, UNTIL, build


class Rows(HTMLParser):
    """Cell texts of every <tr data-step|data-variant> inside the table with the given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.key, self.cell = table_id, False, None, None
        self.rows: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.inside = a.get("id") == self.table_id
        elif self.inside and tag == "tr" and (a.get("data-step") or a.get("data-variant")):
            self.key = a.get("data-step") or a.get("data-variant")
            self.rows[self.key] = []
        elif self.inside and self.key and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None and self.key:
            self.rows[self.key].append(" ".join(self.cell.split()))
            self.cell = None
        elif tag == "tr":
            self.key = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def rows(html: str, table_id: str) -> dict[str, list[str]]:
    parser = Rows(table_id)
    parser.feed(html)
    return parser.rows


def test_dashboard_page_shows_every_funnel_number_per_variant(client, session) -> None:
    h = build(session)
    page = client.get(f"/dashboard?since={SINCE}&until={UNTIL}", headers=h.tenant.auth)
    assert page.status_code == 200
    funnel = rows(page.text, "funnel")
    t, a, b = expected.TOTAL, expected.A, expected.B
    for key in ("abandoned", "scheduled", "sent", "delivered", "clicked", "replied", "opted_out"):
        assert funnel[key][1:] == [str(t[key]), str(a[key]), str(b[key])], key
    for key in ("cancelled", "blocked", "failed", "booked"):
        assert funnel[key][1:] == [str(t[key]["total"]), str(a[key]["total"]), str(b[key]["total"])], key
    assert funnel["cancelled.completed_on_their_own"][1:] == ["1", "1", "0"]
    assert funnel["cancelled.by_rep"][1:] == ["1", "0", "1"]
    assert funnel["blocked.landline"] == ["… a landline, which cannot get texts", "1", "1", "0"]
    assert funnel["failed.error_30003"] == ["… the phone was off or out of reach", "1", "1", "0"]
    assert funnel["failed.no_link"] == ["… no scheduler link to send", "1", "0", "1"]
    assert funnel["booked.agent"][1:] == ["1", "1", "0"]
    assert funnel["booked.link"][1:] == ["4", "1", "3"]
    assert funnel["booked.rep"][1:] == ["1", "0", "1"]
    assert funnel["booking_rate"][1:] == ["54.5%", "33.3%", "80.0%"]
    # Medians 51,300 s, 47,700 s, 51,300 s.
    assert funnel["median_to_booking"][1:] == ["14 h 15 min", "13 h 15 min", "14 h 15 min"]


def test_dashboard_page_shows_steps_attribution_ab_panel_and_charts(client, session) -> None:
    h = build(session)
    page = client.get(f"/dashboard?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).text
    steps = rows(page, "steps")
    for row in expected.STEPS:
        assert steps[row["step"]][1:] == [str(row[c]) for c in
                                          ("scheduled", "queued", "waiting", "failed", "completed", "booked")]
    rule = " ".join(re.search(r'<p id="attribution-rule">(.*?)</p>', page, re.S).group(1).split())  # type: ignore[union-attr]
    assert "last follow-up sent to the same customer" in rule and "<strong>7 days</strong>" in rule
    assert "2 bookings made in this period had no follow-up within the window" in rule  # A6 and A7
    ab = rows(page, "ab-variants")
    assert ab["A"][:4] == ["A (baseline)", "6", "2", "33.3%"] and ab["B"][:4] == ["B", "5", "4", "80.0%"]
    comparison = rows(page, "ab-comparisons")["B"]
    assert comparison[1] == "+46.7 points"
    assert comparison[4].startswith("not significant: about ") and "more sends needed" in comparison[4]
    assert "No winner yet" in page and "Winner:" not in page
    # Charts: inline SVG, funnel bars for each step and one line per variant, no outside script.
    funnel_svg = re.search(r'<svg[^>]*id="chart-funnel".*?</svg>', page, re.S).group(0)  # type: ignore[union-attr]
    assert funnel_svg.count("<rect") == 7 and "<title>booked: 6</title>" in funnel_svg
    lines = re.search(r'<svg[^>]*id="chart-bookings".*?</svg>', page, re.S).group(0)  # type: ignore[union-attr]
    # Bookings made in October: A on Oct 1 (X, abandoned in September), Oct 2, Oct 5; B on Oct 2, 4, 4, 9.
    assert "<title>A: 3 bookings</title>" in lines and "<title>B: 4 bookings</title>" in lines
    assert 'src="http' not in page and "cdn" not in page.lower()


def test_dashboard_rejects_a_bad_period_saying_why(client, session) -> None:
    h = build(session)
    response = client.get("/dashboard?days=0", headers=h.tenant.auth)
    assert response.status_code == 400 and "days" in response.json()["detail"]


def test_funnel_csv_has_a_header_and_every_number(client, session) -> None:
    h = build(session)
    response = client.get(f"/api/v1/analytics/funnel.csv?since={SINCE}&until={UNTIL}", headers=h.tenant.auth)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["scope", "step", "detail", "value"]
    values = {(scope, step, detail): value for scope, step, detail, value in table[1:]}
    for scope, numbers in (("total", expected.TOTAL), ("variant:A", expected.A), ("variant:B", expected.B)):
        for key in ("abandoned", "scheduled", "sent", "delivered", "clicked", "replied", "opted_out"):
            assert values[(scope, key, "")] == str(numbers[key]), (scope, key)
        for by in ("agent", "link", "rep"):
            assert values[(scope, "booked", f"by {by}")] == str(numbers["booked"][by])
        assert values[(scope, "booking_rate", "booked / sent")] == f"{numbers['booking_rate']:.6f}"
        assert values[(scope, "median_seconds_to_booking", "")] == f"{numbers['median_seconds_to_booking']:.0f}"
    assert values[("total", "failed", "the phone was off or out of reach")] == "1"
    assert values[("variant:B", "cancelled", "replied_first")] == "1"


def test_bookings_csv_traces_each_booking_to_its_follow_up_variant_and_step(client, session) -> None:
    h = build(session)
    response = client.get(f"/api/v1/bookings.csv?since={SINCE}&until={UNTIL}", headers=h.tenant.auth)
    table = list(csv.DictReader(io.StringIO(response.text)))
    by_id = {int(r["booking_id"]): r for r in table}
    assert len(table) == 9  # made in October in Los Angeles; the other account's never
    zoe = by_id[h.bookings["B9"].id]
    assert (zoe["attributed"], zoe["variant"], zoe["step"], zoe["followup_id"], zoe["session_ref"]) == (
        "yes", "B", "follow-up text", str(h.followups["B9"].id), "sess_B9")
    assert zoe["created_at"] == "2026-10-09T07:15:00-07:00"
    rep = by_id[h.bookings["B2"].id]
    assert (rep["booked_by"], rep["step"], rep["variant"]) == ("rep", "hand-off to a rep", "B")
    assert by_id[h.bookings["A3"].id]["step"] == "agent conversation"
    late = by_id[h.bookings["A7"].id]
    assert (late["attributed"], late["variant"], late["step"]) == ("no", "", "")
    assert by_id[h.bookings["A6"].id]["attributed"] == "no"
    assert by_id[h.bookings["X"].id]["session_ref"] == "sess_X"
    assert list(table[0]) == ["booking_id", "created_at", "status", "source", "booked_by", "contact_id", "job_type",
                              "starts_at", "attributed", "followup_id", "session_ref", "variant", "step", "touched_at"]


def test_a_new_account_sees_an_empty_dashboard_that_says_so(client, session) -> None:
    from tests.factories import make_tenant

    tenant = make_tenant(session)
    page = client.get("/dashboard", headers=tenant.auth)
    assert page.status_code == 200
    assert rows(page.text, "funnel")["abandoned"] == ["abandoned sessions", "0"]
    assert rows(page.text, "funnel")["booking_rate"] == ["booking rate (booked ÷ sent)", "–"]
    assert "No A/B test in this period" in page.text
    assert 'id="attribution-window"' in page.text  # the admin can change the window here


def test_the_page_names_a_winner_only_when_the_difference_is_significant(client, session) -> None:
    from followups.models import FollowupVariant
    from tests.analytics.history import Builder, la
    from tests.factories import make_tenant

    tenant = make_tenant(session)
    for name in ("A", "B"):
        session.add(FollowupVariant(account_id=tenant.account.id, name=name, mode="link", weight=1))
    b = Builder(session, tenant)
    for variant, sent, booked in (("A", 40, 2), ("B", 40, 20)):
        for i in range(sent):
            f, _ = b.followup(f"{variant}{i}", variant, la(10, 3, 9), "sent", sent=la(10, 3, 9, 15))
            if i < booked:
                b.booking(f, f.contact_id, "link", la(10, 3, 12))
    session.commit()
    page = client.get(f"/dashboard?since={SINCE}&until={UNTIL}", headers=tenant.auth).text
    assert rows(page, "ab-comparisons")["B"][4] == "significant"
    assert "Winner: B." in page
    body = client.get(f"/api/v1/analytics/experiment?since={SINCE}&until={UNTIL}", headers=tenant.auth).json()
    assert body["winner"] == "B" and body["comparisons"][0]["significant"] is True


def test_bookings_csv_makes_typed_text_inert_for_spreadsheets(client, session) -> None:
    h = build(session)
    h.bookings["A1"].job_type = '=HYPERLINK("http://evil.example","fix")'
    session.commit()
    response = client.get(f"/api/v1/bookings.csv?since={SINCE}&until={UNTIL}", headers=h.tenant.auth)
    row = next(r for r in csv.DictReader(io.StringIO(response.text)) if r["booking_id"] == str(h.bookings["A1"].id))
    assert row["job_type"] == "'=HYPERLINK(\"http://evil.example\",\"fix\")"
