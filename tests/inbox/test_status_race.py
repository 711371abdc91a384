"""A status callback racing the commit of its text's provider id is applied, whichever side is late."""

from __future__ import annotations

import httpx
from sqlalchemy import update

import inbox.delivery
import inbox.status
from core.db import get_sessionmaker
from inbox.delivery import deliver_message
from inbox.models import Message
from inbox.status import handle_callback
from tests.inbox.test_delivery import API, MSG_SID, created, twilio  # noqa: F401  (fixture)
from tests.inbox.test_recovery import reply


def test_a_callback_kept_while_the_send_was_open_is_applied_once_the_send_commits(
        session, twilio, monkeypatch) -> None:  # noqa: F811
    twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    message = reply(session)
    look = inbox.delivery.kept_among

    def callback_before_the_look(sids):  # type: ignore[no-untyped-def]
        inbox.status._remember(MSG_SID, "delivered", None)  # the web found no row yet: kept
        return look(sids)

    monkeypatch.setattr(inbox.delivery, "kept_among", callback_before_the_look)
    assert deliver_message(message.id)["result"] == "sent"
    session.expire_all()
    assert session.get(Message, message.id).status == "delivered"


def test_a_callback_whose_send_committed_just_after_it_looked_is_applied_by_the_callback(
        session, monkeypatch) -> None:
    message = reply(session)
    keep = inbox.status._remember

    def the_send_commits_meanwhile(sid, status, error_code):  # type: ignore[no-untyped-def]
        keep(sid, status, error_code)
        with get_sessionmaker()() as worker_session:  # the send commits its id, having found nothing kept
            worker_session.execute(update(Message).where(Message.id == message.id)
                                   .values(provider_sid=MSG_SID, status="sending"))
            worker_session.commit()

    monkeypatch.setattr(inbox.status, "_remember", the_send_commits_meanwhile)
    with get_sessionmaker()() as web_session:
        handle_callback(web_session, MSG_SID, "delivered")
        web_session.commit()
    session.expire_all()
    assert session.get(Message, message.id).status == "delivered"
