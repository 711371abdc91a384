"""A/B variants of the follow-up: each booking session is assigned one, deterministically by its id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from followups.models import FollowupVariant
from inbox.models import Account


@dataclass(frozen=True)
class Choice:
    """What a follow-up sends: the variant's name (None without variants), its mode and its template."""

    variant: str | None
    mode: str
    template: str | None


def bucket(session_external_id: str, total_weight: int) -> int:
    """A stable number in [0, total_weight) for a session id: same id, same bucket, on every process."""
    digest = hashlib.sha256(session_external_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total_weight


def pick(session_external_id: str, variants: list[FollowupVariant]) -> FollowupVariant | None:
    """The variant for this session, by weight; None when no variant has a positive weight."""
    live = [v for v in sorted(variants, key=lambda v: v.id or 0) if v.weight > 0]
    total = sum(v.weight for v in live)
    if not total:
        return None
    point = bucket(session_external_id, total)
    for variant in live:
        if point < variant.weight:
            return variant
        point -= variant.weight
    return live[-1]  # unreachable: the buckets cover [0, total)


def choose(session: Session, account: Account, session_external_id: str) -> Choice:
    """The account's active variants decide mode and template; without any, the account's own settings."""
    variants = list(session.scalars(select(FollowupVariant).where(
        FollowupVariant.account_id == account.id, FollowupVariant.active.is_(True))))
    chosen = pick(session_external_id, variants) if len(variants) >= 2 else None
    if chosen is None:
        return Choice(None, account.followup_mode or "link", account.followup_template)
    return Choice(chosen.name, chosen.mode, chosen.template or account.followup_template)
