"""Failed-login limits, shared by every web process through Redis.

Each password check first reserves an attempt in one atomic Redis script (increment, then decide,
then give the increment back if refused), so parallel guesses cannot slip past a limit the way a
read-then-increment would let them. A right password gives its attempt back; a wrong one keeps it.

Policy, per 15-minute window (a window starts at the first counted failure):
- one address guessing one email: 5 wrong passwords, then that pair is refused (429);
- ceilings that slow rather than lock: once an email has 20 failures from anywhere, or an address
  20 failures on any emails, a pair that has already failed is refused, while a rep who has not
  failed from their address still gets their password checked — a stranger cannot lock them out;
- one address with 100 failures is refused outright (someone spraying guesses at many accounts).

The address is the TCP peer, or the `X-Forwarded-For` client only when the peer is one of
TEXTDESK_TRUSTED_PROXIES (uvicorn resolves it; see `proxy_headers_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.queue import get_redis
from core.settings import Settings

WINDOW_SECONDS = 15 * 60
PAIR_LIMIT = 5
EMAIL_CEILING = 20
ADDRESS_CEILING = 20
ADDRESS_LIMIT = 100

# KEYS: pair, email, address. ARGV: window, pair limit, email ceiling, address ceiling, address limit.
# Returns {1, 0} when the attempt may go on to the password check, {0, seconds to wait} when refused.
_RESERVE = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
local pair, email, addr = counts[1], counts[2], counts[3]
local refused = pair > tonumber(ARGV[2]) or addr > tonumber(ARGV[5])
  or (pair > 1 and (email > tonumber(ARGV[3]) or addr > tonumber(ARGV[4])))
if not refused then return {1, 0} end
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('DECR', key)
  wait = math.max(wait, redis.call('TTL', key))
end
return {0, wait}
"""
# KEYS as above. A right password: the pair's failures are forgiven, the reservation given back.
_RELEASE = """
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECR', KEYS[i]) end
end
"""


@dataclass(frozen=True)
class Attempt:
    """A reserved login attempt for one email from one address."""

    email: str
    address: str
    allowed: bool
    wait_seconds: int = 0

    @property
    def keys(self) -> list[str]:
        return _keys(self.email, self.address)


def _keys(email: str, address: str) -> list[str]:
    email = email.strip().lower()
    return [f"textdesk:login_failures:pair:{address}:{email}", f"textdesk:login_failures:email:{email}",
            f"textdesk:login_failures:addr:{address}"]


def reserve_attempt(email: str, address: str) -> Attempt:
    """Count this attempt as a failure in advance; `allowed` says whether the password may be checked."""
    allowed, wait = get_redis().register_script(_RESERVE)(
        keys=_keys(email, address),
        args=[WINDOW_SECONDS, PAIR_LIMIT, EMAIL_CEILING, ADDRESS_CEILING, ADDRESS_LIMIT])
    return Attempt(email, address, bool(allowed), max(int(wait), 1) if not allowed else 0)


def login_succeeded(attempt: Attempt) -> None:
    """The password was right: the attempt was no failure, and this pair's earlier typos are forgiven."""
    get_redis().register_script(_RELEASE)(keys=attempt.keys)


def proxy_headers_config(settings: Settings) -> dict[str, Any]:
    """uvicorn options: believe `X-Forwarded-For` / `X-Forwarded-Proto` only from the configured proxies."""
    proxies = list(settings.trusted_proxies)
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}
