from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, read_dotenv


def test_defaults_are_the_embedded_default() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///./textdesk.db"
    assert settings.redis_url is None and settings.embedded_redis
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.sms_provider == "dev"
    assert settings.followup_delay_seconds == 900
    assert settings.agent_model == "gpt-4o-mini"
    assert not settings.agent_enabled


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TEXTDESK_DATABASE_URL": "mysql://x"}, "TEXTDESK_DATABASE_URL"),
        ({"TEXTDESK_REDIS_URL": "localhost:6379"}, "TEXTDESK_REDIS_URL"),
        ({"TEXTDESK_PUBLIC_URL": "example.com"}, "TEXTDESK_PUBLIC_URL"),
        ({"TEXTDESK_SMS_PROVIDER": "carrier-pigeon"}, "TEXTDESK_SMS_PROVIDER"),
        ({"TEXTDESK_FOLLOWUP_DELAY_SECONDS": "fifteen"}, "TEXTDESK_FOLLOWUP_DELAY_SECONDS"),
        ({"TEXTDESK_FOLLOWUP_DELAY_SECONDS": "-5"}, "TEXTDESK_FOLLOWUP_DELAY_SECONDS"),
        ({"TEXTDESK_SMS_PROVIDER": "twilio"}, "TWILIO_AUTH_TOKEN"),
        ({"OPENAI_BASE_URL": "localhost:11434"}, "OPENAI_BASE_URL"),
        ({"TEXTDESK_AGENT_DEBOUNCE_SECONDS": "soon"}, "TEXTDESK_AGENT_DEBOUNCE_SECONDS"),
        ({"TEXTDESK_AGENT_MAX_MESSAGES": "-1"}, "TEXTDESK_AGENT_MAX_MESSAGES"),
        ({"TEXTDESK_TRUSTED_PROXIES": "10.0.0.1, lb.internal"}, "TEXTDESK_TRUSTED_PROXIES"),
    ],
)
def test_bad_value_stops_the_start_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_server_urls_and_agent_are_read() -> None:
    settings = Settings.from_env({
        "TEXTDESK_DATABASE_URL": "postgresql+psycopg://u@db/textdesk",
        "TEXTDESK_REDIS_URL": "redis://cache:6379/2",
        "TEXTDESK_PUBLIC_URL": "https://texts.example.com/",
        "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1",
        "TEXTDESK_FOLLOWUP_DELAY_SECONDS": "60",
    })
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.redis_url == "redis://cache:6379/2" and not settings.embedded_redis
    assert settings.public_url == "https://texts.example.com"
    assert settings.agent_enabled
    assert settings.followup_delay_seconds == 60


def test_trusted_proxies_are_addresses_and_ranges() -> None:
    settings = Settings.from_env({"TEXTDESK_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,::1"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.7/32", "::1/128")
    assert Settings.from_env({}).trusted_proxies == ()


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('# comment\nexport TEXTDESK_AGENT_MODEL="llama3"\nTEXTDESK_PUBLIC_URL=https://a.example\n')
    assert read_dotenv(env_file) == {"TEXTDESK_AGENT_MODEL": "llama3", "TEXTDESK_PUBLIC_URL": "https://a.example"}
    monkeypatch.setenv("TEXTDESK_ENV_FILE", str(env_file))
    monkeypatch.setenv("TEXTDESK_PUBLIC_URL", "https://b.example")
    settings = Settings.from_env()
    assert settings.agent_model == "llama3"
    assert settings.public_url == "https://b.example"
