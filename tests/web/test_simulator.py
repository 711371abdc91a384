"""The phone simulator: a rep texts in as a customer through the real inbound pipeline."""

from __future__ import annotations

from sqlalchemy import select

from inbox.models import Event, Message
from tests.factories import make_tenant
from tests.web.helpers import login


def test_simulated_text_goes_through_the_inbound_pipeline_into_a_thread(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    response = client.post("/simulator/messages", json={"from": "(415) 555-0142", "to": tenant.number.phone,
                                                        "body": "My water heater is leaking"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["thread_id"] is not None
    first = body["messages"][0]
    assert (first["direction"], first["body"]) == ("inbound", "My water heater is leaking")
    message = session.scalar(select(Message).where(Message.direction == "inbound"))
    assert message.from_number == "+14155550142" and message.status == "received"
    assert "message.created" in set(session.scalars(select(Event.type)))
    threads = client.get("/api/v1/threads").json()
    assert [t["contact"]["phone"] for t in threads] == ["+14155550142"]
    again = client.get("/simulator/conversation?phone=4155550142").json()
    assert again["thread_id"] == body["thread_id"]


def test_simulated_stop_opts_the_contact_out(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    response = client.post("/simulator/messages", json={"from": "+14155550142", "to": tenant.number.phone,
                                                        "body": "STOP"})
    thread_id = response.json()["thread_id"]
    assert client.get(f"/api/v1/threads/{thread_id}").json()["opted_out"] is True


def test_simulator_page_lists_the_accounts_numbers(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    page = client.get("/simulator")
    assert page.status_code == 200
    assert tenant.number.phone in page.text


def test_simulator_rejects_a_bad_customer_number_naming_the_field(client, session) -> None:
    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    text = {"from": "12", "to": tenant.number.phone, "body": "hi"}
    response = client.post("/simulator/messages", json=text)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("from")


def test_simulator_does_not_exist_with_a_real_provider(client, session, monkeypatch) -> None:
    from core.settings import reset_settings

    tenant = make_tenant(session)
    login(client, tenant.csr.email)
    monkeypatch.setenv("TEXTDESK_SMS_PROVIDER", "twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    reset_settings()
    try:
        assert client.get("/simulator").status_code == 404
        response = client.post("/simulator/messages", json={"from": "+14155550142", "to": tenant.number.phone,
                                                            "body": "hi"})
        assert response.status_code == 404
        assert session.scalar(select(Message)) is None
    finally:
        monkeypatch.undo()
        reset_settings()
