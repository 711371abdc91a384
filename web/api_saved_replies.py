"""Saved replies: the JSON API (reading: every rep; writing: admins) and the admins' page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.exceptions import ClientException
from litestar.response import Template
from sqlalchemy.orm import Session

from inbox import saved_replies as replies
from inbox.models import SavedReply
from web import openapi_bodies as bodies
from web.auth import CurrentUser, admin_only, scoped
from web.pages import nav_context


class SavedRepliesApi(Controller):
    path = "/api/v1/saved-replies"

    @get("/", sync_to_thread=True)
    def list_saved(self, request: Request[CurrentUser, Any, Any], db: Session) -> list[dict[str, Any]]:
        """The account's saved replies, by name."""
        return [replies.saved_reply_json(r) for r in replies.list_replies(db, request.user.account_id)]

    @post("/", guards=[admin_only], sync_to_thread=True, status_code=201)
    def create_saved(self, request: Request[CurrentUser, Any, Any], db: Session,
                     data: bodies.SavedReplyIn) -> dict[str, Any]:
        """`{name, body}`; 409 if the name is taken."""
        try:
            reply = replies.create(db, request.user.account_id, data)
        except replies.NameTaken as exc:
            raise ClientException(status_code=409, detail=str(exc)) from None
        db.commit()
        return replies.saved_reply_json(reply)

    @put("/{reply_id:int}", guards=[admin_only], sync_to_thread=True)
    def update_saved(self, request: Request[CurrentUser, Any, Any], db: Session, reply_id: int,
                     data: bodies.SavedReplyIn) -> dict[str, Any]:
        """Change the name and/or the body."""
        reply = scoped(db, SavedReply, reply_id, request.user)
        try:
            replies.update(db, reply, data)
        except replies.NameTaken as exc:
            raise ClientException(status_code=409, detail=str(exc)) from None
        db.commit()
        return replies.saved_reply_json(reply)

    @delete("/{reply_id:int}", guards=[admin_only], sync_to_thread=True)
    def delete_saved(self, request: Request[CurrentUser, Any, Any], db: Session, reply_id: int) -> Response[None]:
        """Remove it."""
        db.delete(scoped(db, SavedReply, reply_id, request.user))
        db.commit()
        return Response(None, status_code=204)


@get("/settings/saved-replies", guards=[admin_only], sync_to_thread=False)
def saved_replies_page(request: Request[CurrentUser, Any, Any]) -> Template:
    """Admins add, edit and remove the account's saved replies."""
    return Template("saved_replies.html", context=nav_context(request) | {"variables": replies.VARIABLES})


ROUTES: list[Any] = [SavedRepliesApi, saved_replies_page]
