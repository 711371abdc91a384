"""`GET /api/v1/messages/{id}/media/{n}`: a customer's MMS picture, fetched by the server for a rep.

A rep's browser never loads a texter's `MediaUrl` from wherever it points (that would tell any host
the rep's address and when they read the thread). The server fetches it instead, only from the SMS
provider's own API host (TWILIO_API_BASE, with the Twilio credentials, which Twilio's "enforce
HTTP auth on media" requires), and only for a rep of the message's account. Anything that is not
an image is served as a download, so a file from a texter never runs as a page on textdesk's origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Response
from sqlalchemy.orm import Session

from core.settings import get_settings
from inbox.models import Message
from web.auth import CurrentUser, scoped

MAX_BYTES = 5 * 1024 * 1024  # carriers cap an MMS at about this
TIMEOUT_SECONDS = 10.0
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/bmp")


def _from_provider(url: str) -> bool:
    provider = urlsplit(get_settings().twilio_api_base)
    target = urlsplit(url)
    return (target.scheme, target.hostname, target.port) == (provider.scheme, provider.hostname, provider.port)


def _fetch(url: str) -> tuple[bytes, str]:
    settings = get_settings()
    auth = (settings.twilio_account_sid, settings.twilio_auth_token) if settings.twilio_auth_token else None
    body = bytearray()
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True, auth=auth) as client:  # type: ignore[arg-type]
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise NotFoundException(f"the provider answered {response.status_code} for this picture")
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_BYTES:
                    raise NotFoundException("this attachment is larger than an MMS can be")
            content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    return bytes(body), content_type.lower()


@get("/api/v1/messages/{message_id:int}/media/{index:int}", sync_to_thread=True)
def message_media(request: Request[CurrentUser, Any, Any], db: Session, message_id: int, index: int) -> Response[bytes]:
    """The message's `index`-th attachment, fetched from the SMS provider on the rep's behalf."""
    message: Message = scoped(db, Message, message_id, request.user)
    attachments = message.attachments or []
    if not 0 <= index < len(attachments):
        raise NotFoundException(f"message {message_id} has no attachment {index}")
    url = str(attachments[index].get("url", ""))
    if not _from_provider(url):
        raise NotFoundException("this attachment is not hosted by the SMS provider, so it is not fetched")
    try:
        content, content_type = _fetch(url)
    except httpx.HTTPError:
        raise NotFoundException("the SMS provider did not deliver this picture") from None
    inline = content_type in INLINE_TYPES
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
               "Cache-Control": "private, max-age=3600",
               "Content-Disposition": "inline" if inline else f'attachment; filename="attachment-{message_id}-{index}"'}
    return Response(content, media_type=content_type if inline else "application/octet-stream", headers=headers)


ROUTES: list[Any] = [message_media]
