"""Tracked links on the business's own domain (`TEXTDESK_PUBLIC_URL/l/{code}`): where they lead,
and how a tap is told apart from a link-preview fetch."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.settings import get_settings
from followups.models import TrackedLink

PREFILL_FIELDS = ("name", "phone", "zip", "job_type")
_DOUBLE_BRACES = re.compile(r"\{\{\s*(" + "|".join(PREFILL_FIELDS) + r")\s*\}\}")
# Fetchers that unfurl a link before (or instead of) a person tapping it. iMessage identifies as
# "facebookexternalhit ... Facebot Twitterbot"; carrier and security scanners as bots, scanners or nothing.
_PREVIEW_RE = re.compile(
    r"facebookexternalhit|facebot|twitterbot|slackbot|slack-imgproxy|whatsapp|telegrambot|discordbot|"
    r"linkedinbot|skypeuripreview|applebot|imessage|googlebot|bingbot|bot\b|crawler|spider|preview|scanner|"
    r"proofpoint|mimecast|barracuda|urldefense|python-requests|go-http-client|curl/|wget/",
    re.IGNORECASE,
)


def is_preview(user_agent: str | None, method: str = "GET") -> bool:
    """True for link-preview fetchers and scanners: counted as previews, never as clicks."""
    return method.upper() == "HEAD" or not (user_agent or "").strip() or bool(_PREVIEW_RE.search(user_agent or ""))


def prefilled_url(template: str, *, name: str | None, phone: str | None, zip: str | None,
                  job_type: str | None) -> str:
    """The account's scheduler URL with the customer's details, each percent-encoded as a query value.

    `{{ name }}` (or `{name}`), `{{ phone }}`, `{{ zip }}` and `{{ job_type }}` placeholders are filled
    where the template has them; a template without any gets them appended as query parameters.
    """
    values = {"name": name or "", "phone": phone or "", "zip": zip or "", "job_type": job_type or ""}
    # `{{ name }}` is the spelling the settings page shows (as in texts); `{name}` still works.
    template = _DOUBLE_BRACES.sub(lambda m: "{" + m.group(1) + "}", template)
    if any("{" + key + "}" in template for key in PREFILL_FIELDS):
        url = template
        for key, value in values.items():
            # safe="" so '&', '=', '+', '/' and '#' in a name never break the URL's structure.
            url = url.replace("{" + key + "}", quote(value, safe=""))
        return url
    parts = urlsplit(template)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in values.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def link_url(code: str) -> str:
    return f"{get_settings().public_url}/l/{code}"


def create_link(session: Session, account_id: int, followup_id: int | None, target_url: str) -> TrackedLink:
    """A new tracked link with an unguessable code."""
    link = TrackedLink(account_id=account_id, followup_id=followup_id, target_url=target_url,
                       code=secrets.token_urlsafe(6))
    session.add(link)  # written with the text that carries it; nothing needs its id before
    return link


def record_visit(session: Session, code: str, user_agent: str | None, method: str = "GET",
                 now: datetime | None = None) -> TrackedLink | None:
    """Count a tap (first, last, count) or a preview, atomically; None for an unknown code."""
    link = session.scalar(select(TrackedLink).where(TrackedLink.code == code))
    if link is None:
        return None
    now = now or utcnow()
    values: dict[str, Any]
    if is_preview(user_agent, method):
        values = {"preview_count": TrackedLink.preview_count + 1}
    else:
        values = {"click_count": TrackedLink.click_count + 1, "last_clicked_at": now,
                  "first_clicked_at": func.coalesce(TrackedLink.first_clicked_at, now)}  # type: ignore[arg-type]
    # One UPDATE: two taps at the same moment both count.
    session.execute(update(TrackedLink).where(TrackedLink.id == link.id).values(**values))
    session.refresh(link)
    return link


def was_clicked(session: Session, followup_id: int) -> bool:
    return bool(session.scalar(select(func.count()).select_from(TrackedLink).where(
        TrackedLink.followup_id == followup_id, TrackedLink.click_count > 0)))
