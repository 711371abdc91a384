"""Follow-ups in the JSON API: the list, a CSR's cancel, and the account's follow-up settings."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post, put
from litestar.exceptions import ClientException, PermissionDeniedException
from sqlalchemy import select
from sqlalchemy.orm import Session

from followups import account_settings, templates
from followups.models import Followup
from followups.service import cancel, followup_json
from inbox.accounts import ValidationError
from inbox.models import Account
from web import openapi_bodies as bodies
from web.auth import admin_only, scoped

STATUSES = ("scheduled", "sent", "cancelled", "blocked", "failed")


@get("/api/v1/followups", sync_to_thread=True)
def list_followups(request: Request[Any, Any, Any], db: Session, status: str | None = None,
                   limit: int = 200) -> list[dict[str, Any]]:
    """The account's follow-ups, newest due first, optionally by status."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}")
    if not 1 <= limit <= 1000:
        raise ValidationError("limit must be from 1 to 1000")
    query = select(Followup).where(Followup.account_id == request.user.account_id)
    if status:
        query = query.where(Followup.status == status)
    return [followup_json(f) for f in db.scalars(query.order_by(Followup.due_at.desc(), Followup.id.desc()).limit(limit))]


@post("/api/v1/followups/{followup_id:int}/cancel", status_code=200, sync_to_thread=True)
def cancel_followup(request: Request[Any, Any, Any], followup_id: int, db: Session) -> dict[str, Any]:
    """A CSR stops a scheduled follow-up; 409 if it already left `scheduled`."""
    followup = scoped(db, Followup, followup_id, request.user)
    if not cancel(db, followup, "csr", detail=f"cancelled by {request.user.email}"):
        raise ClientException(status_code=409, detail=f"follow-up {followup_id} is already {followup.status}")
    db.commit()
    return followup_json(followup)


@get("/api/v1/followups/settings", sync_to_thread=True)
def read_settings(request: Request[Any, Any, Any], db: Session) -> dict[str, Any]:
    """Delay, mode, template, variants and the lint warnings."""
    account = db.get_one(Account, request.user.account_id)
    return account_settings.read(db, account)


@put("/api/v1/followups/settings", guards=[admin_only], sync_to_thread=True)
def update_settings(request: Request[Any, Any, Any], data: bodies.FollowupSettingsIn, db: Session) -> dict[str, Any]:
    """Admins change any subset of the settings; the answer carries the lint warnings."""
    account = db.get_one(Account, request.user.account_id)
    result = account_settings.update(db, account, data)
    db.commit()
    return result


@post("/api/v1/followups/lint", status_code=200, sync_to_thread=True)
def lint_template(request: Request[Any, Any, Any], data: bodies.LintIn, db: Session) -> dict[str, Any]:
    """Lint a template as an admin types it: warnings and the segment count; nothing is saved."""
    if not request.user.is_admin:
        raise PermissionDeniedException("only an admin of this account can edit follow-up templates")
    source, mode = data.get("template"), data.get("mode", "link")
    if source is not None and not isinstance(source, str):
        raise ValidationError("template must be text")
    account = db.get_one(Account, request.user.account_id)
    try:
        warnings, segments = templates.lint(source or None, account.name, mode)
    except templates.TemplateInvalid as exc:
        return {"valid": False, "error": str(exc), "warnings": [], "segments": None}
    return {"valid": True, "error": None, "warnings": [w.as_dict() for w in warnings], "segments": segments}


ROUTES: list[Any] = [list_followups, cancel_followup, read_settings, update_settings, lint_template]
