"""SMS segment counting: how many billed parts a text becomes (GSM-7 160/153, UCS-2 70/67).

Used by the follow-up template lint and by the inbox composer, so both show the same number.
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape plus the character (two septets).
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # capacity of one segment at this length (single or concatenated)
    remaining: int  # units left in the last segment

    def as_dict(self) -> dict[str, object]:
        return {"encoding": self.encoding, "units": self.units, "segments": self.segments,
                "per_segment": self.per_segment, "remaining": self.remaining}


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> SegmentCount:
    """The encoding a phone will use for `text` and how many segments it is billed as."""
    if is_gsm7(text):
        encoding, units, single, multi = "GSM-7", sum(2 if ch in GSM7_EXTENDED else 1 for ch in text), 160, 153
    else:
        # Characters outside the BMP (most emoji) take two UTF-16 code units.
        encoding, units, single, multi = "UCS-2", len(text.encode("utf-16-le")) // 2, 70, 67
    if units <= single:
        segments, per = (1 if units else 0), single
    else:
        segments, per = -(-units // multi), multi
    remaining = per * max(segments, 1) - units
    return SegmentCount(encoding, units, segments, per, remaining)
