"""A test client whose requests arrive from a chosen network peer (the TCP address, not a header)."""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class FromPeer:
    """The app behind a connection from `peer` (change it between requests), optionally through
    uvicorn's proxy-header handling. An app runs its lifespan once, so one client per app."""

    def __init__(self, app: Litestar, peer: str, trusted_proxies: list[str] | None = None) -> None:
        self.litestar = app
        self.peer = peer
        inner: Any = app
        self.inner = ProxyHeadersMiddleware(inner, trusted_hosts=trusted_proxies) if trusted_proxies is not None else app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            scope["client"] = (self.peer, 50000)
        await self.inner(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.litestar, name)


def client_from(app: Litestar, peer: str, trusted_proxies: list[str] | None = None) -> TestClient[Any]:
    """A test client connecting from `peer`; `client.from_peer.peer = …` moves it to another address."""
    wrapper = FromPeer(app, peer, trusted_proxies)
    client: Any = TestClient(wrapper, base_url=os.environ["TEXTDESK_PUBLIC_URL"])  # type: ignore[arg-type]
    client.from_peer = wrapper
    return client
