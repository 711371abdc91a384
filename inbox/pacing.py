"""Pacing: each sending number sends at most its registered messages per second.

Two Redis mechanisms, shared by every worker on every machine:
- a *slot* reserved per text (one key per number holding its next free time) gives each text its
  turn in due order, so a worker never sleeps long: a text whose turn is far off goes back to RQ;
- a *gate* (the number's provider calls in the last second): a worker waits at it for room, then
  takes its turn right before the provider call, so texts that run late after their slot can never
  bunch up above the rate, and the texts after a late one still go at their slots.
Follow-ups pick, among the account's numbers, the one that frees up first (`earliest`).
"""

from __future__ import annotations

import math
import secrets
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


def earliest(redis: Redis, numbers: list[SendingNumber], now: float | None = None) -> SendingNumber | None:
    """The number whose next slot opens first (idle longest on a tie), without reserving it."""
    if not numbers:
        return None
    now_ms = int((time.time() if now is None else now) * 1000)
    frees = [int(float(v)) if v else 0 for v in redis.mget([_key(n.id) for n in numbers])]
    best = min(range(len(numbers)), key=lambda i: (max(now_ms, frees[i]), frees[i]))
    return numbers[best]


# KEYS[1]: the number's recent provider calls (a sorted set of ms). ARGV: now (ms), window (ms), limit, and
# a unique member to count this call by, or '' only to look. Returns ms to wait; 0 = room (counted if asked).
_GATE = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], window)
  end
  return 0
end
return tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]) + window - now
"""
# Carriers count a number's texts per second; the gate counts a little more than a second, for the
# moment between taking a turn and the provider's answer.
GATE_WINDOW_MS = 1020


def _gate(redis: Redis, number: SendingNumber, member: str) -> int:
    return int(redis.eval(_GATE, 1, f"textdesk:pace:window:{number.id}", int(time.time() * 1000), GATE_WINDOW_MS,
                          max(1, number.mps), member))


def pass_gate(redis: Redis, number: SendingNumber, timeout: float = 30.0) -> None:
    """Block until this number has room in its window for one more provider call (at most its
    messages-per-second in any GATE_WINDOW_MS); `take_turn` takes it, right before the call. A text
    that ran late after its slot goes as soon as there is room, so the texts after it stay on time."""
    deadline = time.monotonic() + timeout
    while (wait_ms := _gate(redis, number, "")) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"number {number.phone} stayed busy for {timeout:.0f} s")
        time.sleep(wait_ms / 1000)


def take_turn(redis: Redis, number: SendingNumber) -> bool:
    """Count one provider call of this number now, if its window has room; False if another worker took
    the room since `pass_gate`."""
    return _gate(redis, number, secrets.token_hex(8)) == 0


def sleep_until(at: float) -> None:
    """Sleep until unix time `at` (short: a worker sleeps only on a slot it already holds)."""
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)
