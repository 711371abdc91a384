"""SMS providers: `dev` (texts stay in textdesk; the phone simulator shows them) and `twilio`
(any Twilio-compatible REST API, by TWILIO_API_BASE).

A provider sends one text and reports the outcome; it never touches the database. Errors say
whether trying again is safe: a 429 or 5xx means the text was not accepted, a timeout after the
request went out means it might have been, so delivery does not resend it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

import httpx

from core.settings import Settings, get_settings


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str  # textdesk status after the provider accepted it: sending, sent or delivered


class ProviderError(Exception):
    """The provider did not take the text. `retryable`: not accepted, safe to try again.
    `ambiguous`: it may have been accepted, so trying again could send it twice."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retryable = retryable
        self.ambiguous = ambiguous


class Provider(Protocol):
    name: str

    def send(
        self, *, to: str, from_: str | None, body: str, messaging_service_sid: str | None = None
    ) -> SendResult: ...

    def find_sent(self, *, to: str, from_: str | None, body: str, since: datetime) -> SendResult | None:
        """The text the provider accepted (same recipient, sender and body, since `since`), if any."""
        ...


class DevProvider:
    """Keeps texts in textdesk: the message row is the store, the simulator reads it."""

    name = "dev"

    def send(
        self, *, to: str, from_: str | None, body: str, messaging_service_sid: str | None = None
    ) -> SendResult:
        return SendResult(sid="SMdev" + uuid.uuid4().hex[:29], status="delivered")

    def find_sent(self, *, to: str, from_: str | None, body: str, since: datetime) -> SendResult | None:
        return None  # nothing leaves textdesk: a text whose send was interrupted was never sent


# Twilio's statuses right after creation; everything later arrives by status callback.
_CREATED_STATUS = {
    "accepted": "sending",
    "scheduled": "sending",
    "queued": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
}


class TwilioProvider:
    """POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json with basic auth."""

    name = "twilio"

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required for the twilio provider")
        self.account_sid = settings.twilio_account_sid
        self.url = f"{settings.twilio_api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        self.status_callback = f"{settings.public_url}/webhooks/twilio/status"
        self.auth = (self.account_sid, settings.twilio_auth_token)
        self.client = client or _shared_client()

    def send(
        self, *, to: str, from_: str | None, body: str, messaging_service_sid: str | None = None
    ) -> SendResult:
        form = {"To": to, "Body": body, "StatusCallback": self.status_callback}
        # A Messaging Service picks the sender from its pool; otherwise the number is the sender.
        if messaging_service_sid:
            form["MessagingServiceSid"] = messaging_service_sid
        elif from_:
            form["From"] = from_
        else:
            raise ProviderError("no sending number or Messaging Service for this text")
        try:
            response = self.client.post(self.url, data=form, auth=self.auth)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderError(f"could not reach {self.url}: {exc}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(
                f"no answer from the provider ({type(exc).__name__}); the text may have been "
                "accepted, so it is not sent again",
                ambiguous=True,
            ) from exc
        if response.status_code in (200, 201):
            data = response.json()
            return SendResult(sid=data["sid"], status=_CREATED_STATUS.get(data.get("status", ""), "sending"))
        return self._error(response)

    def find_sent(self, *, to: str, from_: str | None, body: str, since: datetime) -> SendResult | None:
        """Twilio's message list, filtered by recipient, sender and date sent; matched on the body."""
        params = {"To": to, "DateSent>": since.strftime("%Y-%m-%d"), "PageSize": "100"}
        if from_:
            params["From"] = from_
        try:
            response = self.client.get(self.url, params=params, auth=self.auth)
        except httpx.TransportError as exc:
            raise ProviderError(f"could not list sent texts: {exc}", retryable=True) from exc
        if response.status_code != 200:
            self._error(response)
        for item in response.json().get("messages", []):
            if item.get("body") == body and str(item.get("direction", "")).startswith("outbound"):
                return SendResult(sid=item["sid"], status=_CREATED_STATUS.get(item.get("status", ""), "sent"))
        return None

    @staticmethod
    def _error(response: httpx.Response) -> SendResult:
        try:
            data = response.json()
        except ValueError:
            data = {}
        code = str(data["code"]) if data.get("code") is not None else None
        message = data.get("message") or f"HTTP {response.status_code}"
        retryable = response.status_code == 429 or response.status_code >= 500
        raise ProviderError(message, code=code, http_status=response.status_code, retryable=retryable)


@lru_cache(maxsize=1)
def _shared_client() -> httpx.Client:
    # One pooled, thread-safe client per process: kept-alive connections to the provider, and no
    # TLS context built per text (that alone cost tens of milliseconds).
    return httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))


def get_provider(settings: Settings | None = None) -> Provider:
    """The configured provider (TEXTDESK_SMS_PROVIDER)."""
    settings = settings or get_settings()
    if settings.sms_provider == "twilio":
        return TwilioProvider(settings)
    return DevProvider()
