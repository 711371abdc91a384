"""Request bodies as `/schema` shows them: the handlers take plain JSON objects and check each field
themselves (so a bad field is a 400 naming it), and these annotations say what to send."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.openapi.spec import Example
from litestar.params import Body

Reply = Annotated[dict[str, Any], Body(
    description="a rep's text to the customer (at most 1600 characters); the send gate decides",
    examples=[Example(value={"body": "We can be there at 9:00 tomorrow."})])]
Note = Annotated[dict[str, Any], Body(
    description="an internal note, never sent", examples=[Example(value={"body": "Prefers a call after 5pm."})])]
Assign = Annotated[dict[str, Any], Body(
    description='a user id of this account, "me", or null to unassign', examples=[Example(value={"assignee_id": "me"})])]
Snooze = Annotated[dict[str, Any], Body(
    description="until an ISO 8601 time with an offset, or null: until the customer replies",
    examples=[Example(value={"until": "2026-11-24T16:00:00Z"})])]
SavedReplyIn = Annotated[dict[str, Any], Body(
    description="name (what a rep types after /) and body, with {{ first_name }}, {{ business_name }} and "
                "{{ booking_time }}",
    examples=[Example(value={"name": "on-the-way", "body": "Hi {{ first_name }}, we are on the way."})])]
FollowupSettingsIn = Annotated[dict[str, Any], Body(
    description="any subset: delay_seconds (null: the server's default), mode (link | agent), template, "
                "per_contact_hours, scheduler_url_template, variants [{name, mode, template, weight}]",
    examples=[Example(value={"delay_seconds": 900, "mode": "link",
                             "template": "Hi {{ first_name }}, {{ business_name }} here: {{ link }}"})])]
LintIn = Annotated[dict[str, Any], Body(
    description="a draft follow-up template and its mode; nothing is saved",
    examples=[Example(value={"template": "Hi {{ first_name }}, finish booking: {{ link }}", "mode": "link"})])]
