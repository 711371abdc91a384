"""The agent behind the real inbound path: the Twilio webhook and `inbox.inbound.receive_sms`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.service import start_followup_conversation
from core.queue import get_queue
from inbox.inbound import receive_sms
from inbox.models import Message
from tests.agent.conftest import ScriptedLLM, Shop, completion, outbound
from tests.webhooks.twilio_helpers import inbound_fields, post_signed, use_auth_token


def _receive(session: Session, body: str, sid: str) -> None:
    receive_sms(session, to="+14155550100", from_="+14155550134", body=body, provider_sid=sid)
    session.commit()


def test_a_repeated_twilio_delivery_is_answered_once(client, session, shop: Shop, llm: ScriptedLLM, worker,
                                                     monkeypatch) -> None:
    use_auth_token(monkeypatch)
    llm.then(completion("Happy to help. Which day works for you?"))
    fields = inbound_fields(body="need my water heater looked at")
    assert post_signed(client, "/webhooks/twilio/messages", fields).status_code == 200
    worker()
    assert post_signed(client, "/webhooks/twilio/messages", fields).status_code == 200
    worker()
    assert llm.route.call_count == 1
    assert [m.body for m in outbound(session, shop.thread)] == ["Happy to help. Which day works for you?"]


def test_stop_before_the_turn_runs_means_no_agent_text(session, shop: Shop, llm: ScriptedLLM, worker) -> None:
    _receive(session, "do you have friday?", "SM" + "1" * 32)
    _receive(session, "STOP", "SM" + "2" * 32)
    worker()
    assert llm.route.call_count == 0
    assert [m.sender for m in outbound(session, shop.thread)] == ["system"]  # only the opt-out confirmation


def test_without_an_llm_the_agent_is_off_and_threads_stay_with_csrs(session, shop: Shop, worker) -> None:
    _receive(session, "hi, can someone come tuesday?", "SM" + "3" * 32)
    assert get_queue().job_ids == [] and get_queue().scheduled_job_registry.get_job_ids() == []
    assert start_followup_conversation(session, shop.thread, followup_id=1) is None
    worker()
    assert session.scalars(select(Message).where(Message.direction == "outbound")).all() == []
