"""Settings read once from the environment (and a `.env` file), validated at start.

Names are the ones in docs/settings.md. A bad value raises `SettingsError` naming the variable,
and the command line turns that into a one-line message and a non-zero exit.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse


class SettingsError(ValueError):
    """A setting has a value textdesk cannot use; the message names the variable."""


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse `KEY=VALUE` lines of a .env file; comments, blanks and `export ` are ignored."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _env() -> dict[str, str]:
    # The real environment wins over .env, as with every other twelve-factor tool.
    merged = read_dotenv(Path(os.environ.get("TEXTDESK_ENV_FILE", ".env")))
    merged.update(os.environ)
    return merged


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of seconds, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _url(env: dict[str, str], name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name) or default
    if raw is None:
        return None
    scheme = urlparse(raw).scheme.split("+")[0]
    if scheme not in schemes:
        raise SettingsError(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, got {raw!r}")
    return raw.rstrip("/") if name in ("TEXTDESK_PUBLIC_URL", "TWILIO_API_BASE", "OPENAI_BASE_URL") else raw


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value}")
    return value


def _networks(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR ranges, each checked and returned normalised."""
    items = [item.strip() for item in (env.get(name) or "").split(",") if item.strip()]
    try:
        return tuple(str(ipaddress.ip_network(item, strict=False)) for item in items)
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated IP addresses or CIDR ranges, got {env[name]!r}") from None


@dataclass(frozen=True)
class AgentTunables:
    """The booking agent's limits (`TEXTDESK_AGENT_*`)."""

    debounce_seconds: float = 8.0  # a burst of texts within this window gets one answer
    timeout_seconds: float = 20.0  # per LLM request
    retries: int = 2  # extra attempts after the first, on 429 / 5xx / timeouts
    backoff_seconds: float = 1.0  # first retry delay; doubles each time
    max_tool_rounds: int = 5  # LLM round trips per customer turn
    max_agent_messages: int = 12  # agent texts per thread before a person takes over

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AgentTunables:
        env = _env() if env is None else env
        return cls(
            debounce_seconds=_float(env, "TEXTDESK_AGENT_DEBOUNCE_SECONDS", 8.0),
            timeout_seconds=_float(env, "TEXTDESK_AGENT_TIMEOUT_SECONDS", 20.0),
            retries=int(_float(env, "TEXTDESK_AGENT_RETRIES", 2)),
            backoff_seconds=_float(env, "TEXTDESK_AGENT_BACKOFF_SECONDS", 1.0),
            max_tool_rounds=int(_float(env, "TEXTDESK_AGENT_MAX_TOOL_ROUNDS", 5)),
            max_agent_messages=int(_float(env, "TEXTDESK_AGENT_MAX_MESSAGES", 12)),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./textdesk.db"
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = None
    sms_provider: str = "dev"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    agent_model: str = "gpt-4o-mini"
    followup_delay_seconds: int = 900
    agent: AgentTunables = field(default_factory=AgentTunables)
    data_dir: Path = field(default_factory=lambda: Path(".textdesk"))
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For is believed
    metrics_token: str | None = None  # bearer token for /metrics; unset: loopback only
    webhooks_allow_private: bool = False  # outbound webhooks may call loopback/private URLs (development)

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def agent_enabled(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = _env() if env is None else env
        provider = env.get("TEXTDESK_SMS_PROVIDER", "dev") or "dev"
        if provider not in ("dev", "twilio"):
            raise SettingsError(f"TEXTDESK_SMS_PROVIDER must be 'dev' or 'twilio', got {provider!r}")
        settings = cls(
            database_url=_url(env, "TEXTDESK_DATABASE_URL", "sqlite:///./textdesk.db", ("sqlite", "postgresql"))
            or "",
            redis_url=_url(env, "TEXTDESK_REDIS_URL", None, ("redis", "rediss", "unix")),
            public_url=_url(env, "TEXTDESK_PUBLIC_URL", "http://127.0.0.1:8000", ("http", "https")) or "",
            secret_key=env.get("TEXTDESK_SECRET_KEY") or None,
            sms_provider=provider,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_api_base=_url(env, "TWILIO_API_BASE", "https://api.twilio.com", ("http", "https")) or "",
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=_url(env, "OPENAI_BASE_URL", None, ("http", "https")),
            agent_model=env.get("TEXTDESK_AGENT_MODEL") or "gpt-4o-mini",
            followup_delay_seconds=_int(env, "TEXTDESK_FOLLOWUP_DELAY_SECONDS", 900),
            agent=AgentTunables.from_env(env),
            data_dir=Path(env.get("TEXTDESK_DATA_DIR") or ".textdesk"),
            trusted_proxies=_networks(env, "TEXTDESK_TRUSTED_PROXIES"),
            metrics_token=env.get("TEXTDESK_METRICS_TOKEN") or None,
            webhooks_allow_private=env.get("TEXTDESK_WEBHOOKS_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        )
        if provider == "twilio" and not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise SettingsError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set when TEXTDESK_SMS_PROVIDER=twilio")
        return settings


_on_reset: list[Callable[[], None]] = []


def on_reset(callback: Callable[[], None]) -> None:
    """Run `callback` when settings are forgotten (what was built from them must be rebuilt)."""
    _on_reset.append(callback)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings and everything built from them (tests, `serve` after it set the Redis URL)."""
    get_settings.cache_clear()
    for callback in _on_reset:
        callback()
