"""The pages a rep opens in a browser: login, logout and the live inbox."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.service import HOW_TO_ENABLE, agent_available
from core.settings import get_settings
from followups.templates import CAPS_ALLOWED, PUBLIC_SHORTENERS
from inbox.accounts import authenticate
from inbox.models import Account, Event, Thread
from inbox.segments import GSM7_BASIC, GSM7_EXTENDED
from inbox.sending import BLOCK_REASONS
from web.auth import CurrentUser, rotate_session_id, scoped
from web.logins import login_succeeded, reserve_attempt

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(target: str | None) -> str:
    # Only same-site paths: a crafted ?next= must not bounce a rep to another site after login.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


def _client_address(request: Request[Any, Any, Any]) -> str:
    # The TCP peer, or the client a trusted proxy names (uvicorn applies TEXTDESK_TRUSTED_PROXIES).
    return request.client.host if request.client else "unknown"


def nav_context(request: Request[CurrentUser, Any, Any]) -> dict[str, Any]:
    """What base.html needs about the logged-in rep (other areas' pages pass this too)."""
    return {"user": request.user, "dev_provider": get_settings().sms_provider == "dev"}


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Redirect:
    """Logged in: the inbox; otherwise the login page."""
    return Redirect("/inbox" if request.session.get("user_id") else "/login")


@get("/login", sync_to_thread=False)
def login_form(request: Request[Any, Any, Any], next: str | None = None) -> Template:
    """The login form."""
    return Template("login.html", context={"next": _safe_next(next), "error": None, "email": ""})


@post("/login", sync_to_thread=True, status_code=303)
def login(request: Request[Any, Any, Any], db: Session, data: Form) -> Any:
    """Check email and password, within the failed-login limits of web.logins."""
    email = (data.get("email") or "").strip()
    password = data.get("password") or ""
    target = _safe_next(data.get("next"))
    address = _client_address(request)

    def again(error: str, status: int) -> Template:
        return Template("login.html", status_code=status, media_type=MediaType.HTML,
                        context={"next": target, "error": error, "email": email})

    if not email or not password:
        return again("Enter your email and password.", 400)
    attempt = reserve_attempt(email, address)
    if not attempt.allowed:
        minutes = max(1, (attempt.wait_seconds + 59) // 60)
        plural = "s" if minutes > 1 else ""
        return again(f"Too many failed logins. Try again in {minutes} minute{plural}.", 429)
    user = authenticate(db, email, password)
    db.commit()
    if user is None:
        return again("That email and password do not match.", 401)
    login_succeeded(attempt)
    request.set_session({"user_id": user.id})
    rotate_session_id(request.scope)
    return Redirect(target, status_code=303)


@get("/logout", sync_to_thread=False)
def logout_form(request: Request[Any, Any, Any]) -> Any:
    """A logout button (logging out is a POST so another site cannot do it for the rep)."""
    if not request.session.get("user_id"):
        return Redirect("/login")
    return Template("logout.html", media_type=MediaType.HTML, context={})


@post("/logout", sync_to_thread=False, status_code=303)
def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session."""
    request.clear_session()
    return Redirect("/login", status_code=303)


# The composer counts segments and lints as the rep types, by the server's own tables.
SMS_RULES = {"gsm7_basic": "".join(sorted(GSM7_BASIC)), "gsm7_extended": "".join(sorted(GSM7_EXTENDED)),
             "shorteners": PUBLIC_SHORTENERS, "caps_allowed": sorted(CAPS_ALLOWED)}


def _inbox(request: Request[CurrentUser, Any, Any], db: Session, thread_id: int | None) -> Template:
    account = db.get(Account, request.user.account_id)
    assert account is not None
    # The page's data is as of this id: the socket resumes from it, so nothing before connecting is lost.
    last_event = db.scalar(select(func.max(Event.id)).where(Event.account_id == account.id)) or 0
    bootstrap = {"me": {"id": request.user.id, "name": request.user.name, "role": request.user.role},
                 "account": {"id": account.id, "name": account.name, "timezone": account.timezone},
                 "last_event_id": last_event, "thread_id": thread_id, "block_reasons": BLOCK_REASONS}

    agent_off = None if agent_available() else HOW_TO_ENABLE
    return Template("inbox.html", context=nav_context(request) | {"bootstrap": bootstrap, "account": account,
                                                                  "agent_off": agent_off, "sms_rules": SMS_RULES})


@get("/inbox", sync_to_thread=True)
def inbox(request: Request[CurrentUser, Any, Any], db: Session) -> Template:
    """The live shared inbox."""
    return _inbox(request, db, None)


@get("/inbox/{thread_id:int}", sync_to_thread=True)
def inbox_thread(request: Request[CurrentUser, Any, Any], db: Session, thread_id: int) -> Template:
    """The inbox with one thread open (another account's thread is a 404)."""
    scoped(db, Thread, thread_id, request.user)
    return _inbox(request, db, thread_id)


ROUTES: list[Any] = [home, login_form, login, logout_form, logout, inbox, inbox_thread]
