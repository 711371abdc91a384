"""A/B statistics for follow-up variants: each variant against the baseline (the first in the
settings order).

- rate: bookings attributed to the variant's sent follow-ups ÷ its sent follow-ups;
- each rate's 95% Wilson score interval;
- the difference's 95% interval by Newcombe's hybrid score method (his method 10), built from the
  two Wilson intervals;
- the two-sided p-value of the pooled two-proportion z-test; significant when p < 0.05;
- the sends per variant needed to detect the observed difference with 80% power at α = 0.05
  (two-sided), by the normal approximation (Fleiss, without continuity correction).

The normal distribution comes from scipy; the rest is the closed-form algebra of those methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy.stats import norm

ALPHA = 0.05
POWER = 0.80


@dataclass(frozen=True)
class Arm:
    name: str
    sent: int
    booked: int

    @property
    def rate(self) -> float | None:
        return self.booked / self.sent if self.sent else None


def wilson(successes: int, n: int, confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """The Wilson score interval of successes/n; (0, 1) when n is 0 (nothing is known)."""
    if n == 0:
        return 0.0, 1.0
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """95% interval of p1 − p2 by Newcombe's hybrid score method."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def pooled_z_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test; 1.0 when both rates are 0 or both 1."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0  # no variation at all: no evidence of a difference
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * norm.sf(abs(z)))


def sample_size(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Sends per variant to detect p1 vs p2; None when they are equal (no difference to detect)."""
    if p1 == p2:
        return None
    za, zb = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    mean = (p1 + p2) / 2
    n = (za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p1 - p2) ** 2
    return math.ceil(n)


def compare(variant: Arm, baseline: Arm) -> dict[str, Any]:
    """The contract's comparison row, plus the sample size and the sends still missing."""
    row: dict[str, Any] = {"variant": variant.name, "baseline": baseline.name, "difference": None,
                           "ci95": None, "p_value": None, "significant": False,
                           "sample_size_per_variant": None, "more_sends_needed": None}
    if not variant.sent or not baseline.sent:
        return row
    p_value = pooled_z_test(variant.booked, variant.sent, baseline.booked, baseline.sent)
    lo, hi = newcombe(variant.booked, variant.sent, baseline.booked, baseline.sent)
    needed = sample_size(variant.rate or 0.0, baseline.rate or 0.0)
    row |= {"difference": (variant.rate or 0.0) - (baseline.rate or 0.0), "ci95": [lo, hi], "p_value": p_value,
            "significant": p_value < ALPHA, "sample_size_per_variant": needed,
            "more_sends_needed": None if needed is None else
            max(0, needed - variant.sent) + max(0, needed - baseline.sent)}
    return row


def experiment(arms: list[Arm]) -> dict[str, Any]:
    """`{variants: [{name, sent, booked, rate, ci95}], comparisons: [...], winner}`; arms[0] is the baseline.

    `winner` is the best significant variant (or the baseline, when a variant is significantly
    worse than it and none is better), else None.
    """
    variants = [{"name": a.name, "sent": a.sent, "booked": a.booked, "rate": a.rate,
                 "ci95": list(wilson(a.booked, a.sent)) if a.sent else None} for a in arms]
    comparisons = [compare(arm, arms[0]) for arm in arms[1:]] if arms else []
    better = [c for c in comparisons if c["significant"] and c["difference"] > 0]
    winner = max(better, key=lambda c: c["difference"])["variant"] if better else None
    if winner is None and comparisons and all(c["significant"] and c["difference"] < 0 for c in comparisons):
        winner = arms[0].name
    return {"variants": variants, "comparisons": comparisons, "winner": winner}
