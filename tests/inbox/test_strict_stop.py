"""A strict STOP: once the STOP's webhook has answered, no text to that number starts or is in flight.

Delivery holds the contact's write lock from its last opt-out look until the provider has answered;
opting out writes the same row, so a STOP either lands first (and the text is blocked before any
provider call) or waits until the text in flight is out.
"""

from __future__ import annotations

import threading
import time

import pytest

import inbox.delivery
from core.db import get_sessionmaker
from inbox.delivery import deliver_message
from inbox.inbound import receive_sms
from inbox.models import Contact, Message
from inbox.providers import SendResult
from inbox.sending import send_text
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread


class SlowProvider:
    """The provider's API, answering after `seconds` (the call is outside our walls)."""

    def __init__(self, seconds: float, during: threading.Event | None = None) -> None:
        self.seconds, self.during, self.calls, self.finished_at = seconds, during, 0, 0.0

    def send(self, *, to: str, from_: str | None, body: str, messaging_service_sid: str | None = None) -> SendResult:
        self.calls += 1
        if self.during is not None:
            self.during.set()
        time.sleep(self.seconds)
        self.finished_at = time.monotonic()
        return SendResult(sid=f"SMslow{self.calls:028d}", status="sent")


@pytest.fixture
def queued(session):  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone=daytime_zone())
    message = send_text(session, thread, "On our way", sender="csr", user_id=tenant.csr.id)
    session.commit()
    assert message.decision == "send"
    return tenant, thread, message


def _stop(account_number: str, phone: str, answered: list[float]) -> None:
    with get_sessionmaker()() as s:
        receive_sms(s, to=account_number, from_=phone, body="STOP", provider_sid=f"SMstop{time.time_ns()}")
        s.commit()
    answered.append(time.monotonic())  # the webhook answers after this commit


def test_stop_arriving_while_a_text_is_in_flight_waits_until_it_is_out(session, queued, monkeypatch) -> None:
    _, thread, message = queued
    in_flight = threading.Event()
    provider = SlowProvider(0.5, in_flight)
    monkeypatch.setattr(inbox.delivery, "get_provider", lambda: provider)
    answered: list[float] = []
    contact = session.get(Contact, thread.contact_id)
    stopper = threading.Thread(target=lambda: (in_flight.wait(5), _stop(message.from_number, contact.phone, answered)))
    stopper.start()
    assert deliver_message(message.id)["result"] == "sent"
    stopper.join(10)
    assert provider.calls == 1 and answered, "the STOP was stored"
    assert answered[0] >= provider.finished_at  # the STOP committed only once the text was out
    session.expire_all()
    assert session.get(Contact, contact.id).opted_out is True


def test_stop_committed_after_the_claim_blocks_the_text_before_any_provider_call(session, queued, monkeypatch) -> None:
    _, thread, message = queued
    provider = SlowProvider(0)
    contact = session.get(Contact, thread.contact_id)

    def provider_after_a_stop() -> SlowProvider:
        # The STOP lands between the claim and the send (the last moment before the provider call).
        _stop(message.from_number, contact.phone, [])
        return provider

    monkeypatch.setattr(inbox.delivery, "get_provider", provider_after_a_stop)
    assert deliver_message(message.id)["result"] == "blocked"
    assert provider.calls == 0
    session.expire_all()
    stored = session.get(Message, message.id)
    assert (stored.status, stored.block_reason, stored.provider_sid) == ("blocked", "opted_out", None)
