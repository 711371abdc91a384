"""The numbers the history in tests/analytics/history.py must produce, written out by hand."""

from __future__ import annotations

A = {
    "abandoned": 8, "scheduled": 8,
    "cancelled": {"total": 1, "completed_on_their_own": 1, "replied_first": 0, "opted_out": 0, "by_rep": 0, "other": 0},
    "blocked": {"total": 1, "reasons": [{"reason": "landline", "label": "a landline, which cannot get texts",
                                         "count": 1}]},
    "sent": 6, "delivered": 5,
    "failed": {"total": 1, "reasons": [{"reason": "error_30003", "label": "the phone was off or out of reach",
                                        "count": 1}]},
    "clicked": 1, "replied": 2, "opted_out": 1,
    "booked": {"total": 2, "agent": 1, "link": 1, "rep": 0},
    "booking_rate": 2 / 6,
    "median_seconds_to_booking": (8100 + 87300) / 2,
}
B = {
    "abandoned": 10, "scheduled": 10,
    "cancelled": {"total": 3, "completed_on_their_own": 0, "replied_first": 1, "opted_out": 1, "by_rep": 1, "other": 0},
    "blocked": {"total": 0, "reasons": []},
    "sent": 5, "delivered": 5,
    "failed": {"total": 1, "reasons": [{"reason": "no_link", "label": "no scheduler link to send", "count": 1}]},
    "clicked": 2, "replied": 1, "opted_out": 0,
    "booked": {"total": 4, "agent": 0, "link": 3, "rep": 1},
    "booking_rate": 4 / 5,
    "median_seconds_to_booking": (15300 + 87300) / 2,
}
TOTAL = {
    "abandoned": 19, "scheduled": 18,
    "cancelled": {"total": 4, "completed_on_their_own": 1, "replied_first": 1, "opted_out": 1, "by_rep": 1, "other": 0},
    "blocked": {"total": 1, "reasons": A["blocked"]["reasons"]},
    "sent": 11, "delivered": 10,
    "failed": {"total": 2, "reasons": [
        {"reason": "error_30003", "label": "the phone was off or out of reach", "count": 1},
        {"reason": "no_link", "label": "no scheduler link to send", "count": 1}]},
    "clicked": 3, "replied": 3, "opted_out": 1,
    "booked": {"total": 6, "agent": 1, "link": 4, "rep": 1},
    "booking_rate": 6 / 11,
    "median_seconds_to_booking": (15300 + 87300) / 2,
}
STEPS = [
    {"step": "follow-up text", "scheduled": 17, "queued": 1, "waiting": 0, "failed": 3, "completed": 9, "booked": 4},
    {"step": "agent conversation", "scheduled": 0, "queued": 0, "waiting": 1, "failed": 0, "completed": 0, "booked": 1},
    {"step": "hand-off to a rep", "scheduled": 0, "queued": 1, "waiting": 0, "failed": 0, "completed": 1, "booked": 1},
]
# (sent, booked) per variant for the A/B test; A is the baseline.
ARMS = {"A": (6, 2), "B": (5, 4)}
