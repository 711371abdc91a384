"""`GET /l/{code}` (and `HEAD`): a customer tapping a follow-up's tracked link, or a preview fetcher
unfurling it.

A link only ever leads to the account's own scheduler: the host of its scheduler URL template. A
target anywhere else (a scheduler event may carry any URL) answers as if the link did not exist, so
textdesk's domain cannot be used to bounce people to another site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import HttpMethod, MediaType, Request, route
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.inputs import text_problem
from followups.links import record_visit
from followups.models import TrackedLink
from inbox.models import Account

MAX_CODE = 64


def _origin(url: str | None) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower()
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return host, f"{parts.scheme}:{port}"


def allowed_target(account: Account | None, target: str) -> bool:
    """Whether `target` is on the account's scheduler host (same scheme, host and port)."""
    mine = _origin(account.scheduler_url_template) if account else None
    return mine is not None and _origin(target) == mine


def _gone(request: Request[Any, Any, Any]) -> Response[Any]:
    # A customer taps these on a phone: a page that says what to do, unless a client asked for JSON.
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return Response({"status_code": 404, "detail": "this link does not exist"}, status_code=404)
    return Template("link_gone.html", status_code=404, media_type=MediaType.HTML, context={})


@route("/l/{code:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD], sync_to_thread=True,
       exclude_from_auth=True, include_in_schema=False)
def follow_link(request: Request[Any, Any, Any], code: str, db: Session) -> Response[Any]:
    """Count the visit first (a tap, or a preview: HEAD and fetchers are never clicks), then redirect."""
    if len(code) > MAX_CODE or text_problem(code):
        return _gone(request)
    link = db.scalar(select(TrackedLink).where(TrackedLink.code == code))
    if link is None or not allowed_target(db.get(Account, link.account_id), link.target_url):
        return _gone(request)
    record_visit(db, code, request.headers.get("user-agent"), request.method)
    target = link.target_url
    db.commit()
    return Redirect(target, status_code=302)


ROUTES: list[Any] = [follow_link]
