"""When the agent must stop and hand the thread to a person, and how long its texts may be.

Triggers are checked on the customer's own words before the model sees them, so a model that
misreads (or is talked out of) a hand-off cannot keep a gas leak or an angry customer to itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbox.segments import count_segments

MAX_SEGMENTS = 3

_EMERGENCY_GAS = re.compile(
    r"\b(smell\w* (of |like )?gas|gas (smell|leak|odou?r)\w*|leak\w* gas|carbon monoxide|co (alarm|detector)"
    r"|rotten eggs?)\b", re.IGNORECASE)
_EMERGENCY_WATER = re.compile(
    r"\b(flood\w*|burst (pipe|main)|pipe (burst|exploded)|water (is )?(everywhere|pouring|gushing)"
    r"|sewage (backing|backup|coming))\b", re.IGNORECASE)
_EMERGENCY_ELECTRIC = re.compile(
    r"\b(sparks?|sparking|smoke(?! detector)|smoking outlet|burning smell|on fire|electrical fire|fire|electrocuted)\b",
    re.IGNORECASE)
_PERSON = re.compile(
    r"\b((real|live|actual) (person|human)|(speak|talk) (to|with) (a |an |the |your )?(person|human|someone|"
    r"somebody|manager|owner|rep|representative|agent|dispatcher|office)|human please|representative|"
    r"call me (back|please|now|asap)|(can|could) (you|someone|somebody) (please )?call me|give me a call|"
    r"are you a (bot|robot|machine|real person)|not a bot)\b", re.IGNORECASE)
_FRUSTRATION = re.compile(
    r"\b(ridiculous|useless|frustrat\w*|annoy\w*|waste of (my )?time|stupid|terrible service|wtf|"
    r"this is (a )?joke|not helpful|unacceptable|fed up|pissed|angry|what is wrong with you|you'?re not listening)\b",
    re.IGNORECASE)
_PRICING = re.compile(
    r"\b(refund\w*|overcharg\w*|charged (me )?twice|double[- ]charged|dispute\w*|invoice\w*|my bill|"
    r"too expensive|rip[- ]?off|chargeback|price match)\b", re.IGNORECASE)

GAS_INSTRUCTION = ("If you smell gas, leave the building now, don't touch switches or flames, and call 911 or your "
                   "gas company from outside.")
WATER_INSTRUCTION = ("Shut off your main water valve if you can do it safely, keep clear of outlets and wet "
                     "electrics, and call 911 if anyone is in danger.")
ELECTRIC_INSTRUCTION = "If there is smoke, sparks or fire, get everyone out and call 911 now."


@dataclass(frozen=True)
class Trigger:
    """A reason to hand off, with the text the customer gets."""

    reason: str  # customer_request, frustration, pricing, emergency, loop, llm_failure, limit
    reply: str
    summary: str


def _team(business: str) -> str:
    return f"someone from {business}" if business else "someone from our team"


def emergency_trigger(text: str, business: str = "") -> Trigger | None:
    """An emergency in the customer's words, with the safety instruction to text back at once."""
    for pattern, instruction, kind in ((_EMERGENCY_GAS, GAS_INSTRUCTION, "gas"),
                                       (_EMERGENCY_WATER, WATER_INSTRUCTION, "flooding"),
                                       (_EMERGENCY_ELECTRIC, ELECTRIC_INSTRUCTION, "electrical/fire")):
        if pattern.search(text):
            reply = f"{instruction} I'm alerting {_team(business)} right now."
            return Trigger("emergency", reply, f"Possible {kind} emergency reported by the customer: {text[:300]!r}")
    return None


def detect(texts: list[str], business: str = "") -> Trigger | None:
    """The first hand-off trigger in the customer's latest texts (emergency first), or None."""
    joined = " \n".join(texts)
    emergency = emergency_trigger(joined, business)
    if emergency:
        return emergency
    team = _team(business)
    if _PERSON.search(joined):
        return Trigger("customer_request", f"Of course. I'm passing you to {team}; they'll text you here shortly.",
                       f"Customer asked for a person: {joined[:300]!r}")
    if _FRUSTRATION.search(joined) or _shouting(joined):
        return Trigger("frustration", f"Sorry about that. I'm getting {team} to help; they'll text you here shortly.",
                       f"Customer sounds frustrated: {joined[:300]!r}")
    if _PRICING.search(joined):
        return Trigger("pricing", f"I can't help with pricing or billing by text, so I've passed this to {team}; "
                       "they'll text you here shortly.", f"Pricing/billing question: {joined[:300]!r}")
    return None


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return "!!!" in text or (len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def is_loop(inbound: list[str], agent_replies: list[str]) -> bool:
    """The conversation is going round: the customer repeats themselves 3 times, or the agent twice."""
    if len(inbound) >= 3 and len({_norm(t) for t in inbound[-3:]}) == 1:
        return True
    return len(agent_replies) >= 2 and _norm(agent_replies[-1]) == _norm(agent_replies[-2]) != ""


def loop_trigger(business: str = "") -> Trigger:
    return Trigger("loop", f"I don't want to keep you going in circles. I'm passing you to {_team(business)}; "
                   "they'll text you here shortly.", "The conversation was going in circles.")


def failure_trigger(business: str, detail: str) -> Trigger:
    team = _team(business)
    return Trigger("llm_failure", f"Sorry, I'm having trouble on my end. {team[0].upper()}{team[1:]} will text "
                   "you here shortly.", f"The assistant could not reach its language model ({detail[:200]}).")


def limit_trigger(business: str, what: str) -> Trigger:
    return Trigger("limit", f"Let me get {_team(business)} to finish this with you; they'll text you here shortly.",
                   f"The assistant reached its limit: {what}.")


# What a reply claims was done. Past or present-perfect statements only: "I can book you for 9" or
# "shall I cancel it?" offer, they do not claim; a negation ("isn't confirmed") does not match.
_SUBJECT = r"(your|the) (appointment|visit|booking|job|service call|reservation)"
_CLAIMS = {
    "booked": re.compile(
        r"\b((you're|you are|you've been|you have been)( now| all)? (booked|scheduled|confirmed)"
        r"|(you're|you are) all set for|I('ve| have)? (booked|scheduled|confirmed|reserved)\b"
        r"|(booked|scheduled) you\b|" + _SUBJECT + r"( is|'s| has been)( now)? (booked|confirmed|scheduled|set|locked in))",
        re.IGNORECASE),
    "rescheduled": re.compile(
        r"\b(I('ve| have)? (moved|rescheduled|changed) (your|it|the)|(moved|rescheduled) you\b|"
        + _SUBJECT + r"( is|'s| has been| was)( now)? (moved|rescheduled|changed))", re.IGNORECASE),
    "cancelled": re.compile(
        r"\b(I('ve| have)? cancell?ed|cancell?ed (your|it|the)\b|"
        + _SUBJECT + r"( is|'s| has been| was)( now)? cancell?ed|(it|that)( is|'s| has been) cancell?ed)", re.IGNORECASE),
}
CLAIM_WORDS = {"booked": "a booking", "rescheduled": "a reschedule", "cancelled": "a cancellation"}


def claimed_actions(text: str) -> set[str]:
    """Which of booked / rescheduled / cancelled the reply tells the customer was done."""
    plain = text.replace("\u2019", "'").replace("\u2018", "'")
    return {action for action, pattern in _CLAIMS.items() if pattern.search(plain)}


_WEEKDAYS = [re.compile(rf"\b({full}|(?-i:{short})s?\.?)\b", re.IGNORECASE) for full, short in (
    ("monday", "Mon"), ("tuesday", "Tue|Tues"), ("wednesday", "Wed"), ("thursday", "Thu|Thur|Thurs"),
    ("friday", "Fri"), ("saturday", "Sat"), ("sunday", "Sun"))]


def weekdays_named(text: str) -> set[int]:
    """The weekdays (0 = Monday) a reply names: "Friday", "friday", "Fri" (abbreviations capitalised only,
    so "sat down" or "the sun" are not days)."""
    return {day for day, pattern in enumerate(_WEEKDAYS) if pattern.search(text)}


def _claims(actions: set[str]) -> str:
    return " and ".join(CLAIM_WORDS[a] for a in sorted(actions))


def claim_correction(actions: set[str], facts: str) -> str:
    """What the model is told (once) when its reply claims what no tool call did."""
    return (f"Correction (not shown to the customer): your reply claims {_claims(actions)}, but no tool call made "
            f"it. What is true: {facts} Write the reply again without claiming anything that was not done. If the "
            "customer agreed to a time, call book_slot (or reschedule_booking / cancel_booking) first.")


def claim_trigger(business: str, actions: set[str], reply: str, facts: str) -> Trigger:
    """The model claimed it again after the correction: a person takes over; the reply is never sent."""
    return Trigger("unverified_claim", f"Let me have {_team(business)} confirm the details with you; they'll text "
                   "you here shortly.", f"The assistant's reply claimed {_claims(actions)} that no tool call made, "
                   f"so it was not sent: {reply[:300]!r}. What is true: {facts}")


def segments(text: str) -> int:
    """How many SMS segments `text` takes (GSM-7 or, with any other character, UCS-2)."""
    return count_segments(text).segments


def fit_reply(text: str, max_segments: int = MAX_SEGMENTS) -> str:
    """The reply tidied for SMS and cut, at a sentence or word, to at most `max_segments` segments."""
    text = " ".join(text.replace("**", "").split())
    if segments(text) <= max_segments:
        return text
    cut = text
    while cut and segments(cut) > max_segments:
        cut = cut[: int(len(cut) * 0.9)]
    sentence_end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if sentence_end > len(cut) // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "..." if " " in cut else cut
