"""The admins' pages: `GET /settings` (follow-ups: delay, mode, template, variants, lint as they
type) and `GET /setup` (Business setup: calendar, users, sending numbers, webhook secret).

The pages read and write through the JSON API (`/api/v1/followups/settings`, `/api/v1/calendar`,
`/api/v1/setup/...`), so the browser and integrations see the same validation and warnings. This
module's ROUTES also serve the setup API (web/api_setup.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.orm import Session

from followups import account_settings
from inbox.models import Account
from web.api_setup import setup_api
from web.auth import CurrentUser, admin_only
from web.pages import nav_context


@get("/settings", guards=[admin_only], sync_to_thread=True, include_in_schema=False)
def settings_page(request: Request[CurrentUser, Any, Any], db: Session) -> Template:
    """Follow-up settings for the admin's account, with the current lint warnings."""
    account = db.get_one(Account, request.user.account_id)
    return Template("settings.html", context={**nav_context(request), "account": account,
                                              "settings": account_settings.read(db, account)})


@get("/setup", guards=[admin_only], sync_to_thread=True, include_in_schema=False)
def setup_page(request: Request[CurrentUser, Any, Any], db: Session) -> Template:
    """Business setup: everything on it loads and saves through the JSON API."""
    account = db.get_one(Account, request.user.account_id)
    return Template("setup.html", context={**nav_context(request), "account": account})


ROUTES: list[Any] = [settings_page, setup_page, setup_api]
