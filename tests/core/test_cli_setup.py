"""`textdesk calendar|user|number` run as a script runs them: a real process on the test database."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.accounts import authenticate, user_for_token
from inbox.models import SendingNumber
from tests.core.test_cli import textdesk
from tests.factories import make_tenant


def test_calendar_set_then_show_round_trips_the_api_shape(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(session)
    wanted = {"business_hours": {"tue": [["08:00", "12:00"], ["13:00", "17:00"]]}, "technicians": 3,
              "job_types": [{"name": "Drain cleaning", "duration_minutes": 60, "aliases": ["clog"], "active": True}],
              "blackouts": [{"day": "2026-12-25", "reason": "Christmas"}]}
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(wanted))
    done = textdesk("calendar", "set", str(tenant.account.id), str(path))
    assert done.returncode == 0, done.stderr
    shown = json.loads(textdesk("calendar", "show", str(tenant.account.id)).stdout)
    assert shown["business_hours"]["tue"] == wanted["business_hours"]["tue"]  # type: ignore[index]
    assert shown["business_hours"]["mon"] == [["08:00", "18:00"]]  # left out: kept
    assert shown["technicians"] == 3 and shown["job_types"] == wanted["job_types"]
    assert shown["blackouts"] == wanted["blackouts"]

    bad = textdesk("calendar", "set", str(tenant.account.id), "-",
                   stdin=json.dumps({"business_hours": {"mon": [["25:00", "26:00"]]}}))
    assert bad.returncode == 2 and 'business_hours.mon[0]: "25:00" is not a time' in bad.stderr
    assert textdesk("calendar", "set", str(tenant.account.id), "-", stdin="{nope").returncode == 2


def test_user_list_deactivate_and_reset_password(session: Session) -> None:
    tenant = make_tenant(session)
    listed = json.loads(textdesk("user", "list", str(tenant.account.id), "--json").stdout)
    assert {(u["email"], u["role"], u["active"]) for u in listed} == {
        (tenant.admin.email, "admin", True), (tenant.csr.email, "csr", True)}

    reset = textdesk("user", "reset-password", tenant.csr.email, "--password-stdin", stdin="fresh password 1\n")
    assert reset.returncode == 0, reset.stderr
    session.expire_all()
    assert authenticate(session, tenant.csr.email, "fresh password 1") is not None
    assert textdesk("user", "reset-password", tenant.csr.email, "--password-stdin", stdin="short\n").returncode == 2

    gone = textdesk("user", "deactivate", tenant.admin.email)
    assert gone.returncode == 2 and "last active admin" in gone.stderr
    assert textdesk("user", "deactivate", tenant.csr.email).returncode == 0
    session.expire_all()
    assert authenticate(session, tenant.csr.email, "fresh password 1") is None
    assert user_for_token(session, tenant.token) is not None  # the admin's token still works
    assert "deactivated" in textdesk("user", "list", str(tenant.account.id)).stdout


def test_number_list_and_remove(session: Session) -> None:
    tenant = make_tenant(session)
    assert textdesk("number", "add", str(tenant.account.id), "+14155550177", "--marketing").returncode == 0
    listed = json.loads(textdesk("number", "list", str(tenant.account.id), "--json").stdout)
    assert [n["phone"] for n in listed] == [tenant.number.phone, "+14155550177"]
    removed = textdesk("number", "remove", "(415) 555-0177")
    assert removed.returncode == 0 and "+14155550177" in removed.stdout
    assert session.scalars(select(SendingNumber.phone)).all() == [tenant.number.phone]
    missing = textdesk("number", "remove", "+14155550177")
    assert missing.returncode == 2 and "is not a sending number" in missing.stderr
