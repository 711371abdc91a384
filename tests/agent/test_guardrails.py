"""Hand-off triggers in the customer's words, loop detection, and SMS length limits."""

from __future__ import annotations

import pytest

from agent.guardrails import MAX_SEGMENTS, detect, fit_reply, is_loop, segments


@pytest.mark.parametrize("text, reason", [
    ("I smell gas in the kitchen", "emergency"),
    ("there's a gas leak near the meter", "emergency"),
    ("our CO alarm is going off", "emergency"),
    ("basement is flooding fast", "emergency"),
    ("a pipe burst under the sink", "emergency"),
    ("the outlet is sparking", "emergency"),
    ("can I talk to a real person?", "customer_request"),
    ("I want to speak with a manager", "customer_request"),
    ("are you a bot", "customer_request"),
    ("can someone call me please", "customer_request"),
    ("give me a call at 3", "customer_request"),
    ("this is ridiculous", "frustration"),
    ("WHY IS NOBODY ANSWERING MY QUESTION", "frustration"),
    ("you people are useless", "frustration"),
    ("I was overcharged last time and want a refund", "pricing"),
    ("I'm disputing the invoice you sent", "pricing"),
])
def test_trigger_words_hand_off_with_the_right_reason(text: str, reason: str) -> None:
    trigger = detect([text], "Reyes Plumbing")
    assert trigger is not None and trigger.reason == reason
    assert segments(trigger.reply) <= MAX_SEGMENTS


@pytest.mark.parametrize("text", ["tuesday morning works", "my water heater is leaking a bit", "yes 10am please",
                                  "how soon can you come?", "the drain is slow", "I'd like to cancel my appointment",
                                  "call me when you're on the way", "the smell from the drain is awful",
                                  "the smoke detector chirps, also need a drain cleaned"])
def test_ordinary_booking_texts_do_not_hand_off(text: str) -> None:
    assert detect([text], "Reyes Plumbing") is None


def test_an_emergency_wins_over_other_triggers() -> None:
    trigger = detect(["this is ridiculous", "and now I smell gas"], "Reyes Plumbing")
    assert trigger is not None and trigger.reason == "emergency" and "911" in trigger.reply


def test_repeating_customer_or_agent_is_a_loop() -> None:
    assert is_loop(["any day", "Any day!", "any  day"], [])
    assert is_loop(["a", "b"], ["What day works?", "What day works?"])
    assert not is_loop(["monday", "tuesday", "wednesday"], ["What day works?", "Tuesday 8 or 10?"])


@pytest.mark.parametrize("text", ["word " * 200, "Sentence one is here. " * 40, "ñandú " * 80])
def test_replies_are_cut_to_three_segments(text: str) -> None:
    fitted = fit_reply(text)
    assert segments(fitted) <= 3 and len(fitted) > 100


def test_short_replies_are_left_alone_but_tidied() -> None:
    assert fit_reply("  **Tuesday** at  8?\n") == "Tuesday at 8?"
