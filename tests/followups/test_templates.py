"""Template rendering in the sandbox, the lint warnings and the segment counter."""

from __future__ import annotations

import pytest

from followups.templates import DEFAULT_TEMPLATE, TemplateInvalid, lint, render
from inbox.segments import count_segments


def codes(source: str, business: str = "Reyes Plumbing", mode: str = "link") -> set[str]:
    return {w.code for w in lint(source, business, mode)[0]}


def test_default_template_fits_one_segment_and_has_no_warnings() -> None:
    warnings, segments = lint(DEFAULT_TEMPLATE, "Reyes Plumbing")
    assert warnings == [] and segments["segments"] == 1 and segments["encoding"] == "GSM-7"


def test_default_template_keeps_the_job_type_as_written_and_one_segment_for_the_demo_business() -> None:
    from web.demo import ACCOUNT_NAME

    warnings, segments = lint(DEFAULT_TEMPLATE, ACCOUNT_NAME)
    assert warnings == [] and segments["segments"] == 1
    assert "(Water heater repair)" in segments["sample"]
    text = render(DEFAULT_TEMPLATE, business_name=ACCOUNT_NAME, first_name=None, job_type="HVAC tune-up",
                  link="http://127.0.0.1:8000/l/AbCdEfGh")
    assert text.startswith("Hi there, Reyes Plumbing & Heating (demo) here. Finish booking (HVAC tune-up): ")
    assert count_segments(text).segments == 1


def test_render_fills_business_first_name_job_type_and_link() -> None:
    text = render("Hi {{ first_name }}, {{ business_name }}: your {{ job_type }} {{ link }}",
                  business_name="Reyes Plumbing", first_name="Dana", job_type="Leak", link="https://x/l/a")
    assert text == "Hi Dana, Reyes Plumbing: your Leak https://x/l/a"


@pytest.mark.parametrize("source", ["{{ link.__class__.__mro__ }}", "{{ ''.__class__.__subclasses__() }}",
                                    "{{ business_name.format.__globals__ }}"])
def test_sandbox_refuses_to_reach_server_internals(source: str) -> None:
    with pytest.raises(TemplateInvalid):
        render(source, business_name="B", first_name="D", job_type=None, link="L")


def test_unknown_variable_or_syntax_error_is_invalid() -> None:
    with pytest.raises(TemplateInvalid, match="unknown variable 'secret'"):
        lint("{{ secret }}", "B")
    with pytest.raises(TemplateInvalid, match="template error"):
        lint("{% if %}", "B")


def test_lint_flags_public_shorteners() -> None:
    assert "public_shortener" in codes("{{ business_name }}: https://bit.ly/abc {{ link }}")
    assert "public_shortener" not in codes("{{ business_name }}: {{ link }}")


def test_lint_flags_all_caps_words_but_not_stop_or_hvac() -> None:
    assert "all_caps" in codes("{{ business_name }} BOOK NOW {{ link }}")
    assert "all_caps" not in codes("{{ business_name }} HVAC tune-up {{ link }} Reply STOP to opt out")


def test_lint_flags_more_than_three_emoji() -> None:
    assert "emoji" in codes("{{ business_name }} 🔧🔥💧🚿 {{ link }}")
    assert "emoji" not in codes("{{ business_name }} 🔧 {{ link }}")


def test_lint_flags_a_text_that_does_not_say_who_is_texting() -> None:
    assert "no_business_name" in codes("Finish booking: {{ link }}")
    assert "no_business_name" not in codes("Reyes Plumbing: finish booking {{ link }}")


def test_lint_flags_link_mode_without_the_link() -> None:
    assert "no_link" in codes("{{ business_name }} here, reply to book")
    assert "no_link" not in codes("{{ business_name }} here, reply to book", mode="agent")


def test_lint_counts_segments_of_the_rendered_text() -> None:
    warnings, segments = lint("{{ business_name }} " + "x" * 200 + " {{ link }}", "B")
    assert segments["segments"] == 2 and "segments" in {w.code for w in warnings}


def test_segment_counter_gsm7_limits() -> None:
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2 and count_segments("a" * 307).segments == 3
    assert count_segments("€" * 80).units == 160  # extension characters take two septets
    assert count_segments("é" * 160).encoding == "GSM-7"  # é is in the GSM-7 basic set


def test_segment_counter_ucs2_limits() -> None:
    assert count_segments("ñ" + "ü" * 69).encoding == "GSM-7"  # both are in the GSM-7 basic set
    assert count_segments("ç").encoding == "UCS-2"  # only the capital Ç is
    assert count_segments("ê" * 70).encoding == "UCS-2" and count_segments("ê" * 70).segments == 1
    assert count_segments("ê" * 71).segments == 2
    assert count_segments("ê" * 134).segments == 2 and count_segments("ê" * 135).segments == 3
    assert count_segments("🔧").units == 2  # outside the BMP: a surrogate pair
    assert count_segments("").segments == 0
