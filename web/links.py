"""`GET /l/{code}`: a customer tapping a follow-up's tracked link (or a preview fetcher unfurling it)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get
from litestar.response import Redirect, Response, Template
from sqlalchemy.orm import Session

from followups.links import record_visit


@get("/l/{code:str}", sync_to_thread=True, exclude_from_auth=True, include_in_schema=False)
def follow_link(request: Request[Any, Any, Any], code: str, db: Session) -> Response[Any]:
    """Count the visit first (a tap or a preview), then send the browser to the booking page."""
    link = record_visit(db, code, request.headers.get("user-agent"), request.method)
    if link is None:
        # A customer taps these on a phone: a page that says what to do, unless a client asked for JSON.
        if "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
                "accept", ""):
            return Response({"status_code": 404, "detail": "this link does not exist"}, status_code=404)
        return Template("link_gone.html", status_code=404, media_type=MediaType.HTML, context={})
    target = link.target_url
    db.commit()
    return Redirect(target, status_code=302)


ROUTES: list[Any] = [follow_link]
