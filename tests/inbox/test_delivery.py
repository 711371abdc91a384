from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

import inbox.providers
import inbox.sending
from core.queue import get_queue
from core.settings import get_settings
from inbox.accounts import add_number
from inbox.delivery import deliver_message
from inbox.models import ConsentEvent, Contact, Event, Message, Thread
from inbox.sending import enqueue_delivery, send_text
from tests.factories import make_tenant
from tests.inbox.helpers import daytime_zone, make_thread, nighttime_zone

SID = "AC" + "1" * 32
API = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
MSG_SID = "SM" + "a" * 32


def created(
    to: str = "+14155550134", body: str = "On our way", status: str = "queued", sid: str = MSG_SID
) -> dict:
    """Twilio's documented 201 answer to a Message create."""
    return {
        "account_sid": SID,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": "Sun, 22 Nov 2026 15:00:00 +0000",
        "date_sent": None,
        "date_updated": "Sun, 22 Nov 2026 15:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": "+14155550100",
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{SID}/Messages/{sid}/Media.json"},
        "to": to,
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
    }


def error(code: int, message: str, status: int) -> httpx.Response:
    """Twilio's documented error body."""
    return httpx.Response(
        status,
        json={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


@pytest.fixture
def twilio(monkeypatch):
    settings = dataclasses.replace(
        get_settings(),
        sms_provider="twilio",
        twilio_account_sid=SID,
        twilio_auth_token="tok",
        twilio_api_base="https://api.twilio.com",
    )
    monkeypatch.setattr(inbox.providers, "get_settings", lambda: settings)
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(inbox.sending, "DELIVERY_RETRY_INTERVALS", [0, 0])


def queued_text(session, body: str = "On our way", **contact) -> Message:
    """A CSR reply stored by the gate now, to a contact whose local time is daytime."""
    tenant = make_tenant(session)
    contact.setdefault("timezone", daytime_zone())
    thread = make_thread(session, tenant.account.id, **contact)
    message = send_text(session, thread, body, sender="csr", user_id=tenant.csr.id)
    session.commit()
    assert message.decision == "send", message.block_detail
    return message


def reload(session, message: Message) -> Message:
    session.expire_all()
    return session.get(Message, message.id)


def test_twilio_send_posts_documented_form_with_basic_auth(session, worker, twilio) -> None:
    route = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    message = queued_text(session)
    worker()
    request = route.calls.last.request
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form == {
        "To": "+14155550134",
        "From": "+14155550100",
        "Body": "On our way",
        "StatusCallback": "http://testserver.local/webhooks/twilio/status",
    }
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:tok".encode()).decode()
    message = reload(session, message)
    assert (message.provider_sid, message.status) == (MSG_SID, "sending")
    statuses = [
        e.payload["status"] for e in session.scalars(select(Event).where(Event.type == "message.status"))
    ]
    assert statuses == ["sending"]


def test_number_in_a_messaging_service_sends_by_service_sid(session, worker, twilio) -> None:
    route = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    tenant = make_tenant(session, phone="+14155550111")
    add_number(
        session, tenant.account.id, "+14155550100", transactional=True, messaging_service_sid="MG" + "2" * 32
    )
    session.get(type(tenant.number), tenant.number.id).transactional = False
    thread = make_thread(session, tenant.account.id, timezone=daytime_zone())
    message = send_text(session, thread, "Hello", sender="csr")
    session.commit()
    worker()
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["MessagingServiceSid"] == ["MG" + "2" * 32] and "From" not in form
    assert reload(session, message).from_number == "+14155550100"


def test_dev_provider_stores_the_text_as_delivered(session, worker) -> None:
    message = queued_text(session)
    worker()
    message = reload(session, message)
    assert message.status == "delivered" and message.provider_sid.startswith("SMdev")
    assert message.delivered_at is not None


def test_a_row_with_a_provider_id_is_never_sent_again(session, worker, twilio) -> None:
    route = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    message = queued_text(session)
    worker()
    enqueue_delivery(message.id)  # the same job again, as a retry or a duplicate enqueue would
    worker()
    assert deliver_message(message.id)["result"].startswith("skipped")
    assert route.call_count == 1


def test_429_then_5xx_are_retried_with_backoff_and_the_text_sent_once(
    session, worker, twilio, fast_retries
) -> None:
    route = twilio.post(API).mock(
        side_effect=[
            error(20429, "Too Many Requests", 429),
            error(20500, "Internal Server Error", 500),
            httpx.Response(201, json=created()),
        ]
    )
    message = queued_text(session)
    worker()
    assert route.call_count == 3
    assert reload(session, message).provider_sid == MSG_SID


def test_retries_are_scheduled_with_backoff_intervals(session, worker, twilio) -> None:
    twilio.post(API).mock(return_value=error(20429, "Too Many Requests", 429))
    message = queued_text(session)
    before = datetime.now(UTC)
    worker()
    scheduled = ScheduledJobRegistry(queue=get_queue())
    [job_id] = scheduled.get_job_ids()
    due = datetime.fromtimestamp(get_queue().connection.zscore(scheduled.key, job_id), UTC)
    assert before + timedelta(seconds=5) < due < before + timedelta(seconds=60)
    message = reload(session, message)
    assert message.status == "queued" and message.provider_sid is None
    assert "Retrying" in message.error_message


def test_provider_errors_after_the_last_retry_fail_the_text(session, worker, twilio, fast_retries) -> None:
    route = twilio.post(API).mock(return_value=error(20500, "Internal Server Error", 500))
    message = queued_text(session)
    worker()
    assert route.call_count == 3  # first try + two retries
    message = reload(session, message)
    assert message.status == "failed" and "kept refusing" in message.error_message


def test_timeout_after_the_request_went_out_is_not_resent(session, worker, twilio, fast_retries) -> None:
    route = twilio.post(API).mock(side_effect=httpx.ReadTimeout("slow"))
    message = queued_text(session)
    worker()
    assert route.call_count == 1
    message = reload(session, message)
    assert message.status == "failed" and "not sent again" in message.error_message


def test_error_21610_marks_the_contact_opted_out(session, worker, twilio) -> None:
    twilio.post(API).mock(return_value=error(21610, "Attempt to send to unsubscribed recipient", 400))
    message = queued_text(session)
    worker()
    message = reload(session, message)
    assert (message.status, message.error_code) == ("failed", "21610")
    assert "opted out" in message.error_message
    assert session.get(Contact, message.contact_id).opted_out is True
    event = session.scalar(select(ConsentEvent))
    assert (event.action, event.source) == ("opt_out", "provider")


def test_error_21211_marks_the_number_invalid_and_later_texts_are_blocked(session, worker, twilio) -> None:
    twilio.post(API).mock(
        return_value=error(21211, "The 'To' number +14155550134 is not a valid phone number.", 400)
    )
    message = queued_text(session)
    worker()
    message = reload(session, message)
    assert (message.status, message.error_code) == ("failed", "21211")
    assert session.get(Contact, message.contact_id).line_type == "invalid"
    again = send_text(session, session.get(Thread, message.thread_id), "Another try", sender="csr")
    assert again.block_reason == "invalid_number"


def test_opt_out_between_queueing_and_sending_blocks_the_text(session, worker, twilio) -> None:
    route = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    message = queued_text(session)
    session.get(Contact, message.contact_id).opted_out = True
    session.commit()
    worker()
    message = reload(session, message)
    assert (message.status, message.block_reason) == ("blocked", "opted_out")
    assert route.call_count == 0


def test_automated_text_at_night_is_deferred_to_8am_recipient_time(session, worker) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, phone="+12125550134")  # New York
    night = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)  # 22:30 in New York
    message = send_text(session, thread, "Still need that water heater fixed?", sender="system", now=night)
    session.commit()
    assert (message.status, message.decision, message.block_reason) == ("queued", "deferred", "quiet_hours")
    assert message.retry_at == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 8:00 in New York
    scheduled = ScheduledJobRegistry(queue=get_queue())
    assert scheduled.get_job_ids() == [f"deliver-message-{message.id}-{int(message.retry_at.timestamp())}"]


def test_deferred_text_is_sent_when_its_job_runs_in_the_day(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone="America/New_York")
    message = send_text(
        session, thread, "Following up", sender="system", now=datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
    )
    session.get(Contact, thread.contact_id).timezone = daytime_zone()  # the clock moved on to their morning
    session.commit()
    assert deliver_message(message.id)["result"] == "sent"
    assert reload(session, message).status == "delivered"


def test_deferred_job_that_runs_early_is_deferred_again_not_sent(session) -> None:
    tenant = make_tenant(session)
    thread = make_thread(session, tenant.account.id, timezone=nighttime_zone())
    message = send_text(session, thread, "Following up", sender="system")
    session.commit()
    assert message.decision == "deferred"
    assert deliver_message(message.id)["result"] == "deferred"
    message = reload(session, message)
    assert message.status == "queued" and message.provider_sid is None
    assert len(ScheduledJobRegistry(queue=get_queue()).get_job_ids()) == 1


def test_a_row_another_worker_already_claimed_is_left_alone(session, twilio) -> None:
    route = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    message = queued_text(session)
    session.get(Message, message.id).status = "sending"  # another worker is mid-send
    session.commit()
    assert deliver_message(message.id)["result"] == "skipped (sending)"
    assert route.call_count == 0


def test_retrying_text_is_shown_as_queued_again_with_the_reason(session, worker, twilio) -> None:
    twilio.post(API).mock(return_value=error(20429, "Too Many Requests", 429))
    queued_text(session)
    worker()
    statuses = [
        (e.payload["status"], e.payload["error_message"])
        for e in session.scalars(select(Event).where(Event.type == "message.status").order_by(Event.id))
    ]
    assert statuses == [("sending", None), ("queued", "Retrying: Too Many Requests")]


def test_concurrent_runs_of_the_same_job_send_the_text_once(session, twilio) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    route = twilio.post(API).mock(return_value=httpx.Response(201, json=created()))
    message = queued_text(session)
    barrier = Barrier(4)

    def run(_: int) -> str:
        barrier.wait()
        return deliver_message(message.id)["result"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    assert results.count("sent") == 1
    assert route.call_count == 1
    assert reload(session, message).provider_sid == MSG_SID
