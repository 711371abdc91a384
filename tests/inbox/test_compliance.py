from __future__ import annotations

import pytest

from inbox.compliance import classify

# (text, kind or None): every carrier keyword and its spellings, then plain language both ways.
KEYWORDS = [
    ("STOP", "opt_out"),
    ("stop", "opt_out"),
    ("  Stop  ", "opt_out"),
    ("STOP.", "opt_out"),
    ("stop!!", "opt_out"),
    ("STOPALL", "opt_out"),
    ("stop all", "opt_out"),
    ("STOP   ALL", "opt_out"),
    ("Unsubscribe", "opt_out"),
    ("CANCEL", "opt_out"),
    ("cancel.", "opt_out"),
    ("End", "opt_out"),
    ("quit", "opt_out"),
    ("REVOKE", "opt_out"),
    ("optout", "opt_out"),
    ('"STOP"', "opt_out"),
    ("ＳＴＯＰ", "opt_out"),
    ("START", "opt_in"),
    ("unstop", "opt_in"),
    ("Yes", "opt_in"),
    ("yes!", "opt_in"),
    ("RESTART", "opt_in"),
    ("enroll", "opt_in"),
    ("HELP", "help"),
    ("help?", "help"),
    ("Info", "help"),
]

PLAIN_LANGUAGE_OPT_OUTS = [
    "please stop texting me",
    "Stop texting me!",
    "stop sending me these messages",
    "Remove me from your list",
    "please remove my number from your texting list",
    "don't text me anymore",
    "Don’t text me anymore",
    "do not contact me again",
    "Never text this number again",
    "unsubscribe me please",
    "I want to opt out",
    "opt me out",
    "no more texts please",
    "stop contacting me",
]

NOT_OPT_OUTS = [
    "I can't stop the leak",
    "the water won't stop running",
    "cancel my 3pm and book 5pm",
    "Can you stop by tomorrow?",
    "please stop the water heater from leaking",
    "my toilet won't stop running, can someone come",
    "don't stop texting me updates, they're helpful",
    "text me when you're on the way",
    "don't text me before 9am, I work nights",
    "the heater quit working yesterday",
    "end of the day works",
    "yes 3pm works",
    "Info about pricing?",
    "I need help with my furnace",
    "Stopping by the shop later",
    "Can I cancel the appointment?",
    "please don't cancel, I'll be home",
]


@pytest.mark.parametrize(("text", "kind"), KEYWORDS)
def test_keywords_are_recognised_case_and_punctuation_insensitive(text: str, kind: str) -> None:
    intent = classify(text)
    assert intent is not None and intent.kind == kind and intent.source == "keyword"


@pytest.mark.parametrize("text", PLAIN_LANGUAGE_OPT_OUTS)
def test_plain_language_opt_outs_are_recognised(text: str) -> None:
    intent = classify(text)
    assert intent is not None and intent.kind == "opt_out" and intent.source == "plain_language"


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_ordinary_messages_are_not_opt_outs(text: str) -> None:
    assert classify(text) is None


def test_bare_keyword_is_a_keyword_not_plain_language() -> None:
    assert classify("stop") == classify("STOP")
    assert classify("stop").source == "keyword"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("opt_out_type", "kind"), [("STOP", "opt_out"), ("START", "opt_in"), ("HELP", "help")]
)
def test_provider_opt_out_type_wins_over_the_text(opt_out_type: str, kind: str) -> None:
    intent = classify("arrêtez", opt_out_type=opt_out_type)
    assert intent is not None and intent.kind == kind and intent.source == "provider"
