"""GET /ws: the live inbox for a logged-in rep.

The socket is authenticated by the session cookie (or a Bearer token) and subscribed to one
channel only, the rep's own `account.{account_id}`: there is nothing a client can send to listen
to another account. Logged events carry their event-log id; a client that reconnects sends
`{"type": "resume", "after": <last id>}` and gets what it missed from the log, then
`{"type": "resumed", "last_id": …, "more": bool}`.

Client messages: `resume`, `presence` (`{"thread_id": id|null}`), `typing` (`{"thread_id": id,
"active": bool}`, repeated while a draft is open), `ping`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect

from core.db import session_scope
from core.inputs import INT64_MAX
from inbox.events import PRESENCE, TYPING, channel_for, events_since, publish_ephemeral
from web.auth import CurrentUser

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGE = 2048
RESUME_BATCH = 500
TYPING_MIN_INTERVAL = 1.0  # seconds between typing broadcasts from one socket


def _same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    # Browsers always send Origin on a websocket; a page on another site must not ride the rep's cookie.
    origin = socket.headers.get("origin")
    if not origin:
        return True  # not a browser (an integration or the benchmark), authenticated like any API call
    return urlsplit(origin).netloc.lower() == socket.headers.get("host", "").lower()


def _missed(account_id: int, after: int) -> list[dict[str, Any]]:
    with session_scope() as session:
        return events_since(session, account_id, after, limit=RESUME_BATCH)


def _thread_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class InboxSocket:
    """One connected browser: forwards the account's events and relays its presence and typing."""

    def __init__(self, socket: WebSocket[CurrentUser, Any, Any]) -> None:
        self.socket = socket
        self.user: CurrentUser = socket.user
        self.lock = asyncio.Lock()  # live events and catch-up batches never interleave mid-frame
        self.last_typing = 0.0
        self.viewing: int | None = None

    async def send(self, text: str) -> None:
        async with self.lock:
            await self.socket.send_text(text)

    async def forward(self, raw: bytes) -> None:
        try:
            async with self.lock:  # events published together come one per line; each is its own frame
                for line in (raw.decode() if isinstance(raw, bytes) else str(raw)).split("\n"):
                    await self.socket.send_text(line)
        except (WebSocketDisconnect, RuntimeError, OSError):  # closed under us; the receive loop ends it
            log.debug("dropping event for a closed socket")

    async def resume(self, after: Any) -> None:
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= INT64_MAX:
            await self.send(json.dumps({"type": "error", "detail": "after: a non-negative event id"}))
            return
        missed = await to_thread.run_sync(_missed, self.user.account_id, after)
        async with self.lock:
            for event in missed:
                await self.socket.send_text(json.dumps(event, default=str))
            last = missed[-1]["id"] if missed else after
            await self.socket.send_text(json.dumps({"type": "resumed", "last_id": last,
                                                    "more": len(missed) == RESUME_BATCH}))

    async def ephemeral(self, kind: str, thread_id: int | None, **extra: Any) -> None:
        payload = {"user_id": self.user.id, "name": self.user.name, "thread_id": thread_id} | extra
        await to_thread.run_sync(publish_ephemeral, self.user.account_id, kind, payload)

    async def handle(self, text: str) -> None:
        if len(text) > MAX_CLIENT_MESSAGE:
            await self.send(json.dumps({"type": "error", "detail": "message too large"}))
            return
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self.send(json.dumps({"type": "error", "detail": "send a JSON object with a type"}))
            return
        kind = message.get("type")
        if kind == "resume":
            await self.resume(message.get("after"))
        elif kind == "presence":
            self.viewing = _thread_id(message.get("thread_id"))
            await self.ephemeral(PRESENCE, self.viewing, hello=bool(message.get("hello")))
        elif kind == "typing":
            thread_id = _thread_id(message.get("thread_id"))
            active = message.get("active", True) is not False
            now = time.monotonic()
            # "Stopped" always goes through, so a sent or cleared draft ends the warning at once.
            if thread_id and (not active or now - self.last_typing >= TYPING_MIN_INTERVAL):
                self.last_typing = now if active else 0.0
                await self.ephemeral(TYPING, thread_id, active=active)
        elif kind == "ping":
            await self.send(json.dumps({"type": "pong"}))
        else:
            await self.send(json.dumps({"type": "error", "detail": f"unknown message type {kind!r}"}))


@websocket("/ws")
async def inbox_socket(socket: WebSocket[CurrentUser, Any, Any], channels: ChannelsPlugin) -> None:
    """The account's live events for a logged-in rep, with catch-up on reconnect."""
    if not _same_origin(socket):
        await socket.close(code=4403, reason="cross-origin websocket refused")
        return
    await socket.accept()
    conn = InboxSocket(socket)
    try:
        async with channels.start_subscription([channel_for(conn.user.account_id)]) as subscriber, \
                subscriber.run_in_background(conn.forward, join=False):
            await conn.send(json.dumps({"type": "hello", "user_id": conn.user.id, "name": conn.user.name}))
            while True:
                await conn.handle(await socket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        if conn.viewing is not None:
            try:
                await conn.ephemeral(PRESENCE, None, left=True)
            except (OSError, RuntimeError):  # Redis unreachable while closing: presence just expires
                log.debug("could not announce a closed socket's departure")


ROUTES: list[Any] = [inbox_socket]
