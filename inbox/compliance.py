"""Compliance keywords: what an inbound text means for consent, decided before anything else.

Keywords (STOP, START, HELP and their carrier-recognised variants) match the whole text,
case-insensitive, trimmed, with surrounding punctuation ignored. Plain-language opt-outs
("please stop texting me") are matched conservatively: only phrases about *texting* or *a list*
count, so "I can't stop the leak" or "cancel my 3pm" stay ordinary messages for a person.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES", "RESTART", "ENROLL"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Twilio's Advanced Opt-Out tells us what it recognised in the `OptOutType` field.
PROVIDER_TYPES = {"STOP": OPT_OUT, "START": OPT_IN, "HELP": HELP}

_TRIM = string.punctuation + string.whitespace + "“”‘’¡¿…"
_TEXTING = r"(?:text(?:ing|s)?|txt(?:ing|s)?|messag(?:e|es|ing)|sms|contact(?:ing)?)"
_NEGATED = r"(?:don'?t|do not|never|not|can'?t|cannot|won'?t|will not|didn'?t)\s+(?:\w+\s+)?"
# A condition after "don't text me" makes it a preference about when, not an opt-out.
_CONDITION = (
    r"(?:before|after|until|till|til|at|on|between|during|while|unless|except|if|when|tonight|today)\b"
)

_PLAIN_OPT_OUTS = [
    # "please stop texting me", "stop sending me messages", "stop contacting me"
    re.compile(rf"(?<!\w)stop\s+(?:{_TEXTING}|sending\s+(?:me\s+)?(?:these\s+)?{_TEXTING}|bothering\s+me)\b"),
    # "don't text me anymore", "do not contact me", "never message this number again"
    re.compile(
        rf"\b(?:don'?t|do not|never)\s+(?:ever\s+)?{_TEXTING}\s+(?:me|us|this number)\b(?!\s+{_CONDITION})"
    ),
    # "remove me from your list", "take my number off your texts"
    re.compile(
        r"\b(?:remove|take|delete)\s+(?:me|my\s+(?:phone\s+)?number|this\s+number)\s+(?:off|from)\s+"
        r"(?:of\s+)?(?:your|the|this|ur|all)?\s*(?:\w+\s+)?(?:list|texts|texting|messages|database)\b"
    ),
    # "unsubscribe me", "opt me out", "I want to opt out", "please unsubscribe"
    re.compile(r"\b(?:unsubscribe\s+me|opt\s+me\s+out)\b"),
    re.compile(
        r"\b(?:i\s+want\s+to|i'?d\s+like\s+to|i\s+wish\s+to|please|let\s+me)\s+(?:unsubscribe|opt[\s-]?out)\b"
    ),
    # "no more texts", "no more messages please"
    re.compile(rf"\bno\s+more\s+{_TEXTING}\b"),
]
_NEGATED_STOP = re.compile(rf"\b{_NEGATED}stop\s+{_TEXTING}")


@dataclass(frozen=True)
class Intent:
    """What a text means for consent. `source`: keyword, plain_language or provider."""

    kind: str
    keyword: str | None
    source: str


def normalize(body: str) -> str:
    """'  stop! ' -> 'STOP'; inner whitespace collapsed, surrounding punctuation dropped."""
    # NFKC folds look-alikes such as full-width letters ("ＳＴＯＰ") into plain ones.
    return " ".join(unicodedata.normalize("NFKC", body).strip(_TRIM).split()).upper()


def is_plain_language_opt_out(body: str) -> bool:
    """True only for clear requests to stop texting; see the module docstring."""
    text = " ".join(unicodedata.normalize("NFKC", body).lower().replace("’", "'").split())
    if _NEGATED_STOP.search(text):
        return False
    return any(p.search(text) for p in _PLAIN_OPT_OUTS)


def classify(body: str, opt_out_type: str | None = None) -> Intent | None:
    """The compliance intent of an inbound text, or None for an ordinary message.

    YES is returned as an opt-in keyword; whether it means consent (the contact is opted out or
    answering a marketing opt-in request) is the caller's decision, with the contact at hand.
    """
    if opt_out_type and opt_out_type.strip().upper() in PROVIDER_TYPES:
        return Intent(PROVIDER_TYPES[opt_out_type.strip().upper()], normalize(body) or None, "provider")
    word = normalize(body)
    if word in OPT_OUT_KEYWORDS:
        return Intent(OPT_OUT, word, "keyword")
    if word in OPT_IN_KEYWORDS:
        return Intent(OPT_IN, word, "keyword")
    if word in HELP_KEYWORDS:
        return Intent(HELP, word, "keyword")
    if is_plain_language_opt_out(body):
        return Intent(OPT_OUT, None, "plain_language")
    return None
