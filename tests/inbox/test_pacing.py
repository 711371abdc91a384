"""Every text is handed to the provider within its number's messages per second, whoever wrote it."""

from __future__ import annotations

import time

import httpx

from core.queue import get_redis
from inbox import pacing
from inbox.accounts import add_number
from inbox.models import Message
from inbox.sending import send_text
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread
from tests.inbox.test_delivery import API, created, twilio  # noqa: F401  (fixture)


def test_delivery_keeps_each_number_within_its_rate(session, worker, twilio) -> None:  # noqa: F811
    calls: list[tuple[float, str]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        sid = f"SM{len(calls):032d}"
        calls.append((time.monotonic(), sid))
        return httpx.Response(201, json=created(sid=sid))

    twilio.post(API).mock(side_effect=provider)
    tenant = make_tenant(session)
    tenant.number.mps = 4
    messages = []
    for i in range(10):
        thread = make_thread(session, tenant.account.id, phone=f"+1415555{i + 200:04d}", timezone=daytime_zone())
        messages.append(send_text(session, thread, f"Your technician is on the way ({i})", sender="csr",
                                  user_id=tenant.csr.id))
    session.commit()
    assert all(m.decision == "send" for m in messages)

    deadline = time.monotonic() + 20
    while len(calls) < 10 and time.monotonic() < deadline:
        worker()  # texts whose slot is over a second away come back at their time
        time.sleep(0.05)
    assert len(calls) == 10
    # 4 per second, never faster: any five calls in a row span a second. (Measured over a second, as
    # carriers count, so a call's own jitter between its slot and the provider cannot fail it.)
    spans = [calls[i + 4][0] - calls[i][0] for i in range(len(calls) - 4)]
    assert min(spans) >= 1 - 0.05, spans
    session.expire_all()
    assert {session.get(Message, m.id).provider_sid for m in messages} == {sid for _, sid in calls}


def test_earliest_prefers_the_number_that_frees_up_first(session) -> None:
    tenant = make_tenant(session)
    second = add_number(session, tenant.account.id, "+14155550101", transactional=True, mps=1)
    session.commit()
    numbers = pacing.numbers_for(session, tenant.account.id)
    now = 1_800_000_000.0
    pacing.reserve(get_redis(), [tenant.number], now=now)  # the first number is busy for a moment
    assert pacing.earliest(get_redis(), numbers, now=now) == second
    assert pacing.earliest(get_redis(), [], now=now) is None
