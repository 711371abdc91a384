"""The inbound spool: webhooks that arrive while the database is away are kept on disk, answered 200
(a compliance text 503), and stored exactly once when it is back, by this process or another."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from inbox.models import Message
from tests.factories import make_tenant
from tests.webhooks.test_twilio_status import sent_message
from tests.webhooks.twilio_helpers import inbound_fields, post_signed, use_auth_token
from webhooks import spool
from webhooks.twilio import SPOOL_HANDLERS

TEXTS = "/webhooks/twilio/messages"
STATUS = "/webhooks/twilio/status"


@pytest.fixture
def spool_dir() -> Iterator[Path]:
    directory = spool.spool_dir()
    shutil.rmtree(directory, ignore_errors=True)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _spooled(directory: Path) -> list[dict]:
    if not directory.is_dir():
        return []
    return [json.loads(line) for path in sorted(directory.glob("*.jsonl")) if path.name != "unstored.jsonl"
            for line in path.read_text().splitlines()]


def _inbound(session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.direction == "inbound").order_by(Message.id)))


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_text_arriving_while_database_is_away_is_spooled_answered_200_then_stored(
        session, client, monkeypatch, database_switch, spool_dir) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    database_switch.take_away()
    before = datetime.now(UTC)
    response = post_signed(client, TEXTS, inbound_fields(sid="SM" + "1" * 32, body="Is 3pm free?"))
    assert response.status_code == 200
    assert response.text.endswith("<Response/>")
    [line] = _spooled(spool_dir)
    assert line["kind"] == "text"
    assert line["fields"]["provider_sid"] == "SM" + "1" * 32
    assert line["fields"]["body"] == "Is 3pm free?"
    received_at = datetime.fromisoformat(line["received_at"])
    assert received_at >= before

    database_switch.bring_back()
    spool.replay(SPOOL_HANDLERS)
    [message] = _inbound(session)
    assert (message.provider_sid, message.body, message.from_number) == ("SM" + "1" * 32, "Is 3pm free?",
                                                                         "+14155550134")
    assert message.created_at == received_at  # the time it arrived, not the time it was stored
    assert _spooled(spool_dir) == []


@pytest.mark.parametrize("fields", [{"body": "STOP"}, {"body": "please stop texting me"},
                                    {"body": "Stop", "OptOutType": "STOP"}, {"body": "HELP"}])
def test_compliance_text_while_database_is_away_answers_503_and_is_not_spooled(
        session, client, monkeypatch, database_switch, spool_dir, fields) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    database_switch.take_away()
    response = post_signed(client, TEXTS, inbound_fields(**fields))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "database" in response.json()["detail"]
    assert _spooled(spool_dir) == []
    database_switch.bring_back()
    assert _inbound(session) == []


def test_replay_stores_each_text_once_even_when_delivered_twice(
        session, client, monkeypatch, database_switch, spool_dir) -> None:
    make_tenant(session)
    use_auth_token(monkeypatch)
    stored_before = inbound_fields(sid="SM" + "0" * 32, body="first")
    assert post_signed(client, TEXTS, stored_before).status_code == 200
    database_switch.take_away()
    texts = [stored_before, inbound_fields(sid="SM" + "2" * 32, body="second"),
             inbound_fields(sid="SM" + "2" * 32, body="second"), inbound_fields(sid="SM" + "3" * 32, body="third")]
    for fields in texts:  # the provider's repeat of a text we already have, and a repeat within the outage
        assert post_signed(client, TEXTS, fields).status_code == 200
    assert len(_spooled(spool_dir)) == 4

    database_switch.bring_back()
    spool.replay(SPOOL_HANDLERS)
    spool.replay(SPOOL_HANDLERS)  # nothing left: a second round changes nothing
    assert [(m.provider_sid[2:4], m.body) for m in _inbound(session)] == [("00", "first"), ("22", "second"),
                                                                         ("33", "third")]
    assert [p.name for p in spool_dir.iterdir()] == []


def test_status_callback_while_database_is_away_is_spooled_and_applied_later(
        session, client, monkeypatch, database_switch, spool_dir) -> None:
    message = sent_message(session, sid="SM" + "9" * 32, status="sent")
    use_auth_token(monkeypatch)
    database_switch.take_away()
    response = post_signed(client, STATUS, {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"})
    assert response.status_code == 200
    [line] = _spooled(spool_dir)
    assert (line["kind"], line["fields"]["provider_status"]) == ("status", "delivered")

    database_switch.bring_back()
    spool.replay(SPOOL_HANDLERS)
    session.expire_all()
    assert session.get(Message, message.id).status == "delivered"
    assert _spooled(spool_dir) == []


def test_replay_keeps_the_file_while_the_database_is_still_away(session, database_switch, spool_dir) -> None:
    make_tenant(session)
    spool.append("text", _parsed("SM" + "4" * 32, "kept"))
    database_switch.take_away()
    assert spool.replay(SPOOL_HANDLERS) == 0
    assert [line["fields"]["body"] for line in _spooled(spool_dir)] == ["kept"]
    database_switch.bring_back()
    assert spool.replay(SPOOL_HANDLERS) == 1
    assert [m.body for m in _inbound(session)] == ["kept"]


def test_files_of_dead_processes_are_taken_over_and_those_of_live_ones_left_alone(session, spool_dir) -> None:
    make_tenant(session)
    spool_dir.mkdir(parents=True)
    dead, live = _dead_pid(), os.getppid()
    line = {"kind": "text", "received_at": "2026-11-23T10:00:00+00:00", "fields": _parsed("SM" + "5" * 32, "dead")}
    (spool_dir / f"{dead}.jsonl").write_text(json.dumps(line) + "\n")
    # A replayer that died midway left its claimed file: taken over as well.
    line2 = {**line, "fields": _parsed("SM" + "6" * 32, "claimed by the dead")}
    (spool_dir / f"replaying-{dead}-abc123.jsonl").write_text(json.dumps(line2) + "\n")
    other = {**line, "fields": _parsed("SM" + "7" * 32, "live")}
    (spool_dir / f"{live}.jsonl").write_text(json.dumps(other) + "\n")

    assert spool.replay(SPOOL_HANDLERS) == 2
    bodies = {m.body: m.created_at for m in _inbound(session)}
    assert set(bodies) == {"dead", "claimed by the dead"}
    assert bodies["dead"] == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert sorted(p.name for p in spool_dir.iterdir()) == [f"{live}.jsonl"]


def test_a_line_that_can_never_be_stored_is_set_aside_and_the_rest_stored(session, spool_dir) -> None:
    make_tenant(session)
    spool.append("text", {**_parsed("SM" + "8" * 32, "bad"), "unexpected_field": "x"})
    spool.append("text", _parsed("SM" + "a" * 32, "good"))
    assert spool.replay(SPOOL_HANDLERS) == 1
    assert [m.body for m in _inbound(session)] == ["good"]
    [aside] = [json.loads(line) for line in (spool_dir / "unstored.jsonl").read_text().splitlines()]
    assert "unexpected_field" in aside["line"]
    assert _spooled(spool_dir) == []


def _parsed(sid: str, body: str) -> dict:
    return {"to": "+14155550100", "from_": "+14155550134", "body": body, "provider_sid": sid, "media": [],
            "messaging_service_sid": None, "opt_out_type": None}


def test_a_text_replayed_after_a_newer_one_leaves_the_thread_at_the_newer(session, client, spool_dir) -> None:
    from inbox.models import Thread

    make_tenant(session)
    line = {"kind": "text", "received_at": "2026-11-23T10:00:00+00:00", "fields": _parsed("SM" + "b" * 32, "older")}
    spool_dir.mkdir(parents=True)
    (spool_dir / f"{_dead_pid()}.jsonl").write_text(json.dumps(line) + "\n")
    assert client.post(TEXTS, data=inbound_fields(sid="SM" + "c" * 32, body="newer")).status_code == 200
    newer = _inbound(session)[0].created_at
    spool.replay(SPOOL_HANDLERS)
    assert [m.body for m in _inbound(session)] == ["newer", "older"]
    assert session.scalar(select(Thread)).last_message_at == newer
