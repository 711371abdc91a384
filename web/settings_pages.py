"""`GET /settings`: the admin's follow-up settings page (delay, mode, template, variants, lint as they type).

The page reads and writes through the JSON API (`/api/v1/followups/settings`, `/lint`), so the
browser and integrations see the same validation and warnings.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.orm import Session

from followups import account_settings
from inbox.models import Account
from web.auth import CurrentUser, admin_only
from web.pages import nav_context


@get("/settings", guards=[admin_only], sync_to_thread=True, include_in_schema=False)
def settings_page(request: Request[CurrentUser, Any, Any], db: Session) -> Template:
    """Follow-up settings for the admin's account, with the current lint warnings."""
    account = db.get_one(Account, request.user.account_id)
    return Template("settings.html", context={**nav_context(request), "account": account,
                                              "settings": account_settings.read(db, account)})


ROUTES: list[Any] = [settings_page]
