"""Phone numbers: parse anything a person types into E.164, or say why not."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as pn_timezone


class InvalidPhone(ValueError):
    pass


# Parsing is the costly part of an inbound text's fields, and the same numbers come back all day.
@lru_cache(maxsize=8192)
def to_e164(raw: str, region: str = "US") -> str:
    """'(415) 555-0134' -> '+14155550134'; raises InvalidPhone with a readable reason."""
    if not raw or not raw.strip():
        raise InvalidPhone("phone number is empty")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=8192)
def display(e164: str) -> str:
    """'+14155550134' -> '(415) 555-0134' for North American numbers, international format otherwise."""
    parsed = phonenumbers.parse(e164, None)
    if parsed.country_code == 1:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def timezone_of(e164: str, default: str) -> str:
    """The recipient's likely time zone from the number; `default` when it is ambiguous or unknown."""
    try:
        zones = pn_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return default
    if len(zones) == 1 and zones[0] != "Etc/Unknown":
        return zones[0]
    return default
