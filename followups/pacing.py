"""Pacing: each sending number sends at most its registered messages per second.

A slot is reserved atomically in Redis (one key per number holding its next free time), so every
worker on every machine shares the same budget. A job reserves the earliest slot across the
account's numbers and waits for it; jobs reserve in the order they run, which is due order.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import SendingNumber

# KEYS: one per number. ARGV: now (ms), then one interval (ms) per key. Returns [index, slot ms].
_RESERVE = """
local now = tonumber(ARGV[1])
local best, best_slot, best_free = 0, nil, nil
for i, key in ipairs(KEYS) do
  local free = tonumber(redis.call('GET', key) or '0')
  local slot = math.max(now, free)
  -- Earliest slot wins; among numbers free now, the one idle longest, so texts spread over them.
  if best_slot == nil or slot < best_slot or (slot == best_slot and free < best_free) then
    best, best_slot, best_free = i, slot, free
  end
end
local interval = tonumber(ARGV[best + 1])
redis.call('SET', KEYS[best], tostring(best_slot + interval), 'PX', 60000 + (best_slot - now) + interval)
return {best - 1, tostring(best_slot)}
"""


@dataclass(frozen=True)
class Slot:
    number: SendingNumber
    at: float  # unix seconds at which this number may send

    def wait(self, now: float | None = None) -> float:
        return max(0.0, self.at - (time.time() if now is None else now))


def _key(number_id: int) -> str:
    return f"textdesk:pace:number:{number_id}"


def numbers_for(session: Session, account_id: int, category: str = "transactional") -> list[SendingNumber]:
    """The account's numbers registered for `category`, in a stable order."""
    column = SendingNumber.marketing if category == "marketing" else SendingNumber.transactional
    return list(session.scalars(select(SendingNumber).where(
        SendingNumber.account_id == account_id, column.is_(True)).order_by(SendingNumber.id)))


def reserve(redis: Redis, numbers: list[SendingNumber], now: float | None = None) -> Slot | None:
    """Reserve the earliest free slot across `numbers`; None when the account has no number."""
    if not numbers:
        return None
    now_ms = int((time.time() if now is None else now) * 1000)
    # Whole milliseconds, rounded up: Lua prints numbers with 14 digits, and rounding up never exceeds the rate.
    intervals = [math.ceil(1000 / max(1, n.mps)) for n in numbers]
    index, slot_ms = redis.eval(_RESERVE, len(numbers), *[_key(n.id) for n in numbers], now_ms, *intervals)
    return Slot(numbers[int(index)], float(slot_ms) / 1000)


def wait_for(slot: Slot) -> None:
    """Sleep until the slot opens (short: a worker sleeps only on a slot it already holds)."""
    delay = slot.wait()
    if delay > 0:
        time.sleep(delay)
