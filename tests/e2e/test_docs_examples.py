"""The copy-paste examples in docs/webhooks.md work, run as written against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bookings.models import BookingSession
from inbox.models import Message
from tests.factories import make_tenant

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _env(live_server, tenant) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(os.environ, TEXTDESK_URL=live_server.url, ACCOUNT_ID=str(tenant.account.id),
                SECRET=tenant.account.webhook_secret)


def test_scheduler_examples_in_python_and_curl_are_accepted(live_server, session) -> None:
    tenant = make_tenant(session)
    python, _ = _blocks("python")
    curl, _ = _blocks("sh")
    ran = subprocess.run([sys.executable, "-c", python], env=_env(live_server, tenant), capture_output=True,
                         text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("200 ") and '"status":"accepted"' in ran.stdout.replace(" ", "")
    ran = subprocess.run(["bash", "-c", curl], env=_env(live_server, tenant), capture_output=True, text=True,
                         timeout=30)
    assert '"status":"accepted"' in ran.stdout.replace(" ", ""), ran.stdout + ran.stderr
    session.expire_all()
    sessions = session.scalars(select(BookingSession.external_id).where(
        BookingSession.account_id == tenant.account.id)).all()
    assert set(sessions) == {"sess_42", "sess_curl_1"}


def test_twilio_examples_in_python_and_curl_deliver_a_text(live_server, session) -> None:
    tenant = make_tenant(session)
    _, python = _blocks("python")
    _, curl = _blocks("sh")
    ran = subprocess.run([sys.executable, "-c", python], env=_env(live_server, tenant), capture_output=True,
                         text=True, timeout=30)
    assert ran.returncode == 0 and ran.stdout.startswith("200 "), ran.stderr
    ran = subprocess.run(["bash", "-c", curl], env=_env(live_server, tenant), capture_output=True, text=True,
                         timeout=30)
    assert "<Response" in ran.stdout, ran.stdout + ran.stderr
    session.expire_all()
    bodies = session.scalars(select(Message.body).where(Message.account_id == tenant.account.id,
                                                        Message.direction == "inbound")).all()
    assert bodies == ["Is anyone free tomorrow?", "Is anyone free tomorrow?"]
