"""The realtime fan-out survives a Redis restart: subscribers are told to catch up, then get new events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis
from redis.asyncio import Redis as AsyncRedis

from core.embedded_redis import EmbeddedRedis
from web.realtime import RESYNC, ResilientPubSubBackend


async def _received_across_a_restart(directory: Path) -> list[tuple[str, bytes]]:
    server = EmbeddedRedis(directory)
    url = server.start()
    backend = ResilientPubSubBackend(redis=AsyncRedis.from_url(url))
    await backend.subscribe(["account.1"])
    received: list[tuple[str, bytes]] = []

    async def listen() -> None:
        async for item in backend.stream_events():
            received.append(item)

    task = asyncio.create_task(listen())
    try:
        await asyncio.sleep(0.3)
        redis.Redis.from_url(url).publish("account.1", b"before")
        await asyncio.sleep(0.3)
        server.stop()  # Redis restarts under the web process
        await asyncio.sleep(1.0)
        server.start()
        for _ in range(100):  # within seconds, not at the next restart of the web process
            if any(data == RESYNC for _, data in received):
                break
            await asyncio.sleep(0.1)
        redis.Redis.from_url(url).publish("account.1", b"after")
        for _ in range(50):
            if ("account.1", b"after") in received:
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        server.stop()
    return received


def test_fan_out_resubscribes_after_a_redis_restart_and_tells_subscribers_to_catch_up(tmp_path) -> None:
    received = asyncio.run(_received_across_a_restart(tmp_path / "redis"))
    assert received[0] == ("account.1", b"before")
    assert ("account.1", RESYNC) in received
    assert received[-1] == ("account.1", b"after")
