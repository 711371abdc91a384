"""An account's follow-up settings (delay, mode, template, variants, per-contact limit, scheduler URL):
read, validated and saved in one place for the API and the settings page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.settings import get_settings
from followups import templates
from followups.models import FollowupVariant
from inbox.accounts import ValidationError
from inbox.models import Account

MODES = ("link", "agent")
MAX_DELAY_SECONDS = 7 * 86400
MAX_VARIANTS = 5


def variant_json(variant: FollowupVariant) -> dict[str, Any]:
    return {"name": variant.name, "mode": variant.mode, "template": variant.template, "weight": variant.weight}


def read(session: Session, account: Account) -> dict[str, Any]:
    """Current settings, with the lint warnings of every template."""
    variants = list(session.scalars(select(FollowupVariant).where(
        FollowupVariant.account_id == account.id, FollowupVariant.active.is_(True)).order_by(FollowupVariant.id)))
    warnings, segments = templates.lint(account.followup_template, account.name, account.followup_mode)
    return {
        "delay_seconds": account.followup_delay_seconds,
        "default_delay_seconds": get_settings().followup_delay_seconds,
        "mode": account.followup_mode,
        "template": account.followup_template,
        "default_template": templates.DEFAULT_TEMPLATE,
        "per_contact_hours": account.followup_per_contact_hours,
        "scheduler_url_template": account.scheduler_url_template,
        "variants": [{**variant_json(v), "warnings": [w.as_dict() for w in templates.lint(
            v.template or account.followup_template, account.name, v.mode)[0]]} for v in variants],
        "warnings": [w.as_dict() for w in warnings],
        "segments": segments,
        "agent_available": get_settings().agent_enabled,
    }


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = data[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{key} must be a whole number from {low} to {high}")
    return value


def _template(value: Any, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text")
    try:
        templates.check_template(value)
    except templates.TemplateInvalid as exc:
        raise ValidationError(f"{field}: {exc}") from None
    return value


def _mode(value: Any, field: str) -> str:
    if value not in MODES:
        raise ValidationError(f"{field} must be one of {', '.join(MODES)}")
    return str(value)


def _variants(value: Any) -> list[FollowupVariant]:
    if not isinstance(value, list) or len(value) > MAX_VARIANTS or len(value) == 1:
        raise ValidationError(f"variants must be a list of 2 to {MAX_VARIANTS} variants (or empty for none)")
    rows, names = [], set()
    for i, item in enumerate(value):
        field = f"variants[{i}]"
        if not isinstance(item, dict):
            raise ValidationError(f"{field} must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 64 or name in names:
            raise ValidationError(f"{field}.name must be a unique name of up to 64 characters")
        names.add(name)
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 1000:
            raise ValidationError(f"{field}.weight must be a whole number from 0 to 1000")
        rows.append(FollowupVariant(name=name.strip(), mode=_mode(item.get("mode", "link"), f"{field}.mode"),
                                    template=_template(item.get("template"), f"{field}.template"),
                                    weight=weight, active=True))
    if rows and not sum(r.weight for r in rows):
        raise ValidationError("variants: at least one weight must be above 0")
    return rows


def update(session: Session, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    """Validate every given field first, then write them all (a bad field changes nothing)."""
    known = {"delay_seconds", "mode", "template", "per_contact_hours", "scheduler_url_template", "variants"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError(f"{unknown[0]} is not a follow-up setting")
    changes: dict[str, Any] = {}
    if "delay_seconds" in data:
        changes["followup_delay_seconds"] = _int(data, "delay_seconds", 0, MAX_DELAY_SECONDS)
    if "per_contact_hours" in data:
        hours = _int(data, "per_contact_hours", 0, 24 * 30)
        changes["followup_per_contact_hours"] = 24 if hours is None else hours
    if "mode" in data:
        changes["followup_mode"] = _mode(data["mode"], "mode")
    if "template" in data:
        changes["followup_template"] = _template(data["template"], "template")
    if "scheduler_url_template" in data:
        url = data["scheduler_url_template"] or None
        if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
            raise ValidationError("scheduler_url_template must start with https:// or http://")
        changes["scheduler_url_template"] = url
    new_variants = _variants(data["variants"]) if "variants" in data else None
    for column, value in changes.items():
        setattr(account, column, value)
    if new_variants is not None:
        # Follow-ups keep the variant's name, so replacing the set keeps the funnel's history.
        session.execute(delete(FollowupVariant).where(FollowupVariant.account_id == account.id))
        for row in new_variants:
            row.account_id = account.id
            session.add(row)
    session.flush()
    return read(session, account)
