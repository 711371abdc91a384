"""Follow-up text templates: account-edited Jinja2 rendered in the sandbox, and the lint shown on save.

A template sees only `business_name`, `first_name`, `job_type` and `link`; the sandbox keeps it
from reaching attributes or callables of the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from inbox.segments import count_segments

# One segment even with a long business name (the demo's) and the job type as the business wrote it.
DEFAULT_TEMPLATE = (
    "Hi {{ first_name or 'there' }}, {{ business_name }} here. Finish booking"
    "{% if job_type %} ({{ job_type }}){% endif %}: {{ link }} Reply STOP to opt out."
)
VARIABLES = ("business_name", "first_name", "job_type", "link")
# Carriers filter texts carrying public shortener domains; the tracked link is on the business's domain.
PUBLIC_SHORTENERS = ("bit.ly", "tinyurl.com", "goo.gl", "ow.ly", "t.co", "is.gd", "buff.ly", "rebrand.ly",
                     "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "bl.ink", "t.ly", "s.id", "lnkd.in")
MAX_EMOJI = 3
MAX_TEMPLATE_CHARS = 1000
_SHORTENER_RE = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(d) for d in PUBLIC_SHORTENERS) + r")(/|\b)", re.IGNORECASE)
_CAPS_RE = re.compile(r"\b[A-Z]{4,}\b")
# Words carriers and customers expect in capitals.
CAPS_ALLOWED = {"STOP", "HELP", "HVAC", "ASAP", "TODAY"}
_EMOJI_RE = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\U0001F1E6-\U0001F1FF]")
# A link as long as the tracked links textdesk sends, for counting segments before one exists.
SAMPLE = {"business_name": "", "first_name": "Dana", "job_type": "Water heater repair",
          "link": "https://textdesk.example/l/AbCdEfGh"}

_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, trim_blocks=True)


class TemplateInvalid(ValueError):
    """A template that cannot be saved or rendered; the message says why."""


@dataclass(frozen=True)
class LintWarning:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def check_template(source: str) -> None:
    """Raise TemplateInvalid for a syntax error, an unknown variable or an over-long template."""
    _checked(source)


@lru_cache(maxsize=256)
def _checked(source: str) -> Template:
    # Cached: a worker sends thousands of follow-ups from the same few templates.
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateInvalid(f"template is longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        parsed = _env.parse(source)
    except TemplateError as exc:
        raise TemplateInvalid(f"template error: {exc}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
    if unknown:
        raise TemplateInvalid(f"unknown variable {unknown[0]!r} (use {', '.join(VARIABLES)})")
    return _env.from_string(source)


def render(source: str | None, *, business_name: str, first_name: str | None, job_type: str | None,
           link: str) -> str:
    """The text of a follow-up; raises TemplateInvalid if the template is broken or unsafe."""
    template = _checked(source or DEFAULT_TEMPLATE)
    context = {"business_name": business_name, "first_name": first_name or "", "job_type": job_type or "",
               "link": link}
    try:
        text = template.render(context)
    except TemplateError as exc:  # SecurityError is a TemplateError
        raise TemplateInvalid(f"template error: {exc}") from None
    return re.sub(r"[ \t]+", " ", text).strip()


def first_name_of(name: str | None) -> str | None:
    return name.strip().split()[0] if name and name.strip() else None


def lint(source: str | None, business_name: str, mode: str = "link") -> tuple[list[LintWarning], dict[str, Any]]:
    """Warnings for a template (none of them block saving) and the segment count of a sample render."""
    source = source or DEFAULT_TEMPLATE
    warnings: list[LintWarning] = []
    check_template(source)
    for match in _SHORTENER_RE.finditer(source):
        warnings.append(LintWarning("public_shortener", f"{match.group(1)} is a public link shortener; carriers "
                                                        "filter texts carrying them. textdesk adds its own tracked link"))
    caps = sorted({w for w in _CAPS_RE.findall(source) if w not in CAPS_ALLOWED})
    if caps:
        warnings.append(LintWarning("all_caps", f"ALL CAPS words look like spam to carriers: {', '.join(caps)}"))
    emoji = len(_EMOJI_RE.findall(source))
    if emoji > MAX_EMOJI:
        warnings.append(LintWarning("emoji", f"{emoji} emoji; more than {MAX_EMOJI} looks like spam"))
    mentions_name = "business_name" in source or (business_name and business_name.lower() in source.lower())
    if not mentions_name:
        warnings.append(LintWarning("no_business_name", "say who is texting: add {{ business_name }}"))
    if mode == "link" and "link" not in meta.find_undeclared_variables(_env.parse(source)):
        warnings.append(LintWarning("no_link", "link mode needs {{ link }} in the text"))
    sample = render(source, **{**SAMPLE, "business_name": business_name})
    segments = count_segments(sample)
    if segments.segments > 1:
        warnings.append(LintWarning("segments", f"about {segments.segments} {segments.encoding} segments "
                                                f"({segments.units} characters); each is billed"))
    if segments.encoding == "UCS-2":
        warnings.append(LintWarning("unicode", "a character outside GSM-7 makes each segment 70 characters, not 160"))
    return warnings, {**segments.as_dict(), "sample": sample}
