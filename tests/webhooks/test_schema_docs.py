"""`/schema` documents the webhooks' request bodies and signing headers (their handlers read raw bytes)."""

from __future__ import annotations


def test_schema_shows_the_scheduler_event_body_and_its_signature_headers(client) -> None:
    schema = client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/webhooks/scheduler"]["post"]
    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["type"]["enum"] == ["session.abandoned", "session.completed"]
    assert body["example"]["session"]["id"] == "sess_42"
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"X-Textdesk-Account", "X-Textdesk-Timestamp", "X-Textdesk-Signature"}


def test_schema_shows_the_twilio_form_bodies(client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    inbound = paths["/webhooks/twilio/messages"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert {"MessageSid", "From", "To", "Body"} <= set(inbound["schema"]["properties"])
    status = paths["/webhooks/twilio/status"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert status["schema"]["required"] == ["MessageSid", "MessageStatus"]


def test_schema_describes_the_inbox_api_request_bodies(client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]

    def body_schema(path: str) -> dict:  # type: ignore[type-arg]
        return paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    reply = body_schema("/api/v1/threads/{thread_id}/messages")
    assert "send gate" in reply["description"] and reply["examples"][0]["body"]
    assert "until the customer replies" in body_schema("/api/v1/threads/{thread_id}/snooze")["description"]
    assert "{{ first_name }}" in body_schema("/api/v1/saved-replies")["description"]
