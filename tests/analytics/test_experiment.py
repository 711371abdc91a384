"""The A/B answer: rates, Newcombe's interval, the pooled z-test and the sample size, checked against
the textbook formulas computed here with the standard library's normal distribution (not scipy)."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from analytics.experiment import Arm, experiment
from tests.analytics import expected
from tests.analytics.history import SINCE, UNTIL, build

Z = NormalDist().inv_cdf(0.975)


def wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (2 * n * p + Z * Z) / (2 * (n + Z * Z))
    half = Z * math.sqrt(Z * Z + 4 * n * p * (1 - p)) / (2 * (n + Z * Z))
    return centre - half, centre + half


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    d = x1 / n1 - x2 / n2
    return (d - math.sqrt((x1 / n1 - l1) ** 2 + (u2 - x2 / n2) ** 2),
            d + math.sqrt((u1 - x1 / n1) ** 2 + (x2 / n2 - l2) ** 2))


def z_test(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * (1 - NormalDist().cdf(abs(z)))


def per_variant(p1: float, p2: float) -> int:
    zb = NormalDist().inv_cdf(0.8)
    mean = (p1 + p2) / 2
    return math.ceil((Z * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
                     / (p1 - p2) ** 2)


def test_experiment_api_answers_the_contract_for_the_known_history(client, session) -> None:
    h = build(session)
    body = client.get(f"/api/v1/analytics/experiment?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()
    (na, xa), (nb, xb) = expected.ARMS["A"], expected.ARMS["B"]
    assert [(v["name"], v["sent"], v["booked"], v["rate"]) for v in body["variants"]] == [
        ("A", na, xa, xa / na), ("B", nb, xb, xb / nb)]
    [row] = body["comparisons"]
    assert (row["variant"], row["baseline"]) == ("B", "A")
    assert row["difference"] == pytest.approx(xb / nb - xa / na, abs=1e-12)
    assert row["ci95"] == pytest.approx(list(newcombe(xb, nb, xa, na)), abs=1e-9)
    assert row["p_value"] == pytest.approx(z_test(xb, nb, xa, na), abs=1e-9)
    assert row["significant"] is (row["p_value"] < 0.05) is False
    needed = per_variant(xb / nb, xa / na)
    assert row["sample_size_per_variant"] == needed
    assert row["more_sends_needed"] == (needed - nb) + (needed - na)
    assert body["winner"] is None


def test_a_clear_difference_is_significant_and_names_the_winner() -> None:
    result = experiment([Arm("A", 1000, 100), Arm("B", 1000, 150)])
    [row] = result["comparisons"]
    assert row["p_value"] == pytest.approx(z_test(150, 1000, 100, 1000), abs=1e-12)
    assert row["p_value"] < 0.05 and row["significant"] is True
    assert row["ci95"] == pytest.approx(list(newcombe(150, 1000, 100, 1000)), abs=1e-12)
    assert row["ci95"][0] > 0  # the interval excludes no difference, as the test says
    assert result["winner"] == "B"
    assert result["variants"][0]["ci95"] == pytest.approx(list(wilson(100, 1000)), abs=1e-12)


def test_a_baseline_significantly_better_than_every_variant_wins() -> None:
    assert experiment([Arm("A", 1000, 150), Arm("B", 1000, 100)])["winner"] == "A"


def test_equal_rates_need_no_sample_size_and_a_variant_without_sends_has_no_statistics() -> None:
    [same] = experiment([Arm("A", 100, 10), Arm("B", 100, 10)])["comparisons"]
    assert (same["difference"], same["p_value"], same["sample_size_per_variant"]) == (0, 1.0, None)
    [empty] = experiment([Arm("A", 100, 10), Arm("B", 0, 0)])["comparisons"]
    assert (empty["difference"], empty["ci95"], empty["p_value"], empty["significant"]) == (None, None, None, False)
    [none_booked] = experiment([Arm("A", 50, 0), Arm("B", 50, 0)])["comparisons"]
    assert none_booked["p_value"] == 1.0 and none_booked["significant"] is False


def test_the_baseline_is_the_first_variant_in_the_settings_order(client, session) -> None:
    h = build(session)
    client.put("/api/v1/followups/settings", headers=h.tenant.auth, json={"variants": [
        {"name": "B", "mode": "link", "weight": 1}, {"name": "A", "mode": "link", "weight": 1}]})
    body = client.get(f"/api/v1/analytics/experiment?since={SINCE}&until={UNTIL}", headers=h.tenant.auth).json()
    assert [v["name"] for v in body["variants"]] == ["B", "A"]
    assert (body["comparisons"][0]["variant"], body["comparisons"][0]["baseline"]) == ("A", "B")
