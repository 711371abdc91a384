from __future__ import annotations

from webhooks.signatures import twilio_signature, url_variants, valid_twilio_signature

# Twilio's published example (security documentation).
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
FIELDS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_matches_twilios_published_vector() -> None:
    assert twilio_signature(TOKEN, URL, FIELDS) == EXPECTED


def test_field_order_does_not_matter() -> None:
    assert twilio_signature(TOKEN, URL, list(reversed(FIELDS))) == EXPECTED


def test_url_with_default_port_is_accepted_like_twilios_validator() -> None:
    assert valid_twilio_signature(TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", FIELDS, EXPECTED)
    signed_with_port = twilio_signature(TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", FIELDS)
    assert valid_twilio_signature(TOKEN, URL, FIELDS, signed_with_port)


def test_wrong_token_field_or_missing_signature_is_rejected() -> None:
    assert not valid_twilio_signature("54321", URL, FIELDS, EXPECTED)
    assert not valid_twilio_signature(TOKEN, URL, [*FIELDS[:-1], ("To", "+18005551213")], EXPECTED)
    assert not valid_twilio_signature(TOKEN, URL, FIELDS, None)
    assert not valid_twilio_signature(TOKEN, URL, FIELDS, "")


def test_repeated_field_names_are_signed_with_values_sorted() -> None:
    one = twilio_signature(TOKEN, URL, [("Media", "b"), ("Media", "a")])
    assert one == twilio_signature(TOKEN, URL, [("Media", "a"), ("Media", "b")])
    assert one != twilio_signature(TOKEN, URL, [("Media", "a")])


def test_non_default_port_has_no_variant() -> None:
    assert url_variants("http://example.com:8000/x") == ["http://example.com:8000/x"]
    assert url_variants("http://example.com/x") == ["http://example.com/x", "http://example.com:80/x"]
