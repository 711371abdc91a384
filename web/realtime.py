"""Fan-out of the account's events to its browsers that outlives a Redis restart.

Litestar's Redis pub/sub backend stops listening for good when its connection drops. This one waits
for Redis, lets redis-py reconnect (which subscribes to the same channels again), and then tells
every subscriber to catch up (`{"type": "resync"}`): the browser asks the event log for what it
missed, so nothing published while Redis was away is lost to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
RESYNC = json.dumps({"id": None, "type": "resync"}).encode()
RETRY_SECONDS = 0.5


class ResilientPubSubBackend(RedisChannelsPubSubBackend):
    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        lost = False
        while True:
            await self._has_subscribed.wait()
            try:
                message = await self._pub_sub.get_message(ignore_subscribe_messages=True,
                                                          timeout=self._stream_sleep_no_subscriptions)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not lost:
                    log.warning("realtime fan-out lost redis (%s); retrying", exc)
                lost = True
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if lost:
                lost = False
                log.info("realtime fan-out reconnected to redis; subscribers catch up")
                for channel in list(self._pub_sub.channels):
                    yield channel.decode(), RESYNC
            if message is None:
                continue
            channel = message["channel"].decode()
            # As upstream: a message can still arrive for a channel being unsubscribed.
            if message["channel"] in self._pub_sub.channels.keys() - self._pub_sub.pending_unsubscribe_channels:
                yield channel, message["data"]
