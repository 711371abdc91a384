"""Plain words for the codes the pipeline stores, as the dashboard and the CSV show them."""

from __future__ import annotations

CANCEL_GROUPS = {
    "session_completed": "completed_on_their_own",
    "inbound_reply": "replied_first",
    "opt_out": "opted_out",
    "csr": "by_rep",
    "csr_replied": "by_rep",
}
CANCEL_LABELS = {
    "completed_on_their_own": "booked on their own first",
    "replied_first": "replied before it went out",
    "opted_out": "opted out",
    "by_rep": "stopped by a rep",
    "other": "other",
}
BLOCK_LABELS = {
    "opted_out": "the contact had opted out",
    "no_consent": "no consent for this kind of text",
    "invalid_number": "not a valid phone number",
    "landline": "a landline, which cannot get texts",
    "sender_not_registered": "no number registered to send it",
    "quiet_hours": "quiet hours at the customer's end",
    "duplicate": "the contact already got a follow-up recently",
}
# Twilio's delivery error codes that home-services accounts actually meet.
CARRIER_ERRORS = {
    "30003": "the phone was off or out of reach",
    "30004": "the recipient blocked the number",
    "30005": "the number does not exist or is inactive",
    "30006": "a landline or a carrier that cannot take texts",
    "30007": "filtered by the carrier as spam",
    "30008": "an unknown carrier error",
    "21610": "the recipient had replied STOP to this number",
    "30034": "the sending number is not registered (A2P 10DLC)",
}


def cancel_group(cancelled_by: str | None) -> str:
    return CANCEL_GROUPS.get(cancelled_by or "", "other")


def block_label(code: str) -> str:
    return BLOCK_LABELS.get(code, code.replace("_", " "))


def failure_code(status: str | None, error_code: str | None) -> str:
    """`no_link` for a follow-up that had nothing to send; else the carrier's code, or the status."""
    return f"error_{error_code}" if error_code else (status or "failed")


def failure_label(code: str) -> str:
    if code == "no_link":
        return "no scheduler link to send"
    if code.startswith("error_"):
        number = code.removeprefix("error_")
        return CARRIER_ERRORS.get(number, f"carrier error {number}")
    return "not delivered" if code == "undelivered" else "the provider refused it"
