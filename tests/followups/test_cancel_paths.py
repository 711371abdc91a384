"""Follow-ups cancelled by the real inbound pipeline (Twilio webhook), and agent mode when an LLM is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.settings import get_settings
from followups.jobs import send_followup
from followups.models import Followup, TrackedLink
from inbox.models import Message, Thread
from tests.factories import make_tenant
from tests.followups.helpers import daytime_contact, event, past_due, post_event
from tests.webhooks.twilio_helpers import inbound_fields, post_signed, use_auth_token


@pytest.fixture
def llm_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.test/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _followup(session) -> Followup:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(select(Followup)).one()


@pytest.mark.parametrize("body,reason", [("Actually can you call me?", "inbound_reply"), ("STOP", "opt_out")])
def test_text_from_the_contact_before_due_cancels_the_followup(client, session, worker, monkeypatch,
                                                                 body, reason) -> None:
    use_auth_token(monkeypatch)
    tenant = make_tenant(session)
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    response = post_signed(client, "/webhooks/twilio/messages", inbound_fields(body=body))
    assert response.status_code == 200, response.text
    worker()
    followup = _followup(session)
    assert followup.status == "cancelled" and followup.cancelled_by == reason
    assert session.scalar(select(TrackedLink.id)) is None
    assert not session.scalars(select(Message).where(Message.direction == "outbound",
                                                     Message.sender != "system")).all()


def test_agent_mode_sends_the_agents_opening_and_hands_it_the_thread(client, session, llm_configured) -> None:
    tenant = make_tenant(session)
    tenant.account.followup_mode = "agent"
    daytime_contact(session, tenant)
    post_event(client, tenant, event(occurred_at=past_due(tenant)))
    result = send_followup(_followup(session).id)
    followup = _followup(session)
    assert result["outcome"] == "sent" and followup.detail is None
    message = session.get(Message, followup.sent_message_id)
    assert message.sender == "agent" and "/l/" not in message.body
    assert session.get(Thread, followup.thread_id).owner == "agent"
