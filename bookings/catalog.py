"""What a business books: its job types, found by name or alias, and the default one.

An account that set no job types books one "Service visit" of a slot's length. The first active
job type in the admin's order is the default: what a request for an unknown kind of job is
offered instead.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.models import JobType
from inbox.models import Account

DEFAULT_JOB_TYPE = "Service visit"


def fold(name: str) -> str:
    """A job type name as it is compared: case and spacing ignored."""
    return " ".join(name.split()).casefold()


def job_types(session: Session, account: Account) -> list[JobType]:
    """The account's bookable job types in the admin's order; one default "Service visit" of a
    slot's length if it set none."""
    rows = list(session.scalars(select(JobType).where(JobType.account_id == account.id, JobType.active.is_(True))
                                .order_by(JobType.position, JobType.name)))
    if rows:
        return rows
    has_any = session.scalar(select(JobType.id).where(JobType.account_id == account.id).limit(1))
    return [] if has_any else [JobType(account_id=account.id, name=DEFAULT_JOB_TYPE,
                                       duration_minutes=account.slot_minutes, active=True, aliases=[])]


def job_type_named(session: Session, account: Account, name: str) -> JobType | None:
    """The active job type with this name or alias (case and spacing ignored), or None."""
    wanted = fold(name)
    rows = job_types(session, account)
    return (next((j for j in rows if fold(j.name) == wanted), None)
            or next((j for j in rows if wanted in {fold(a) for a in j.aliases or []}), None))


def default_job_type(session: Session, account: Account) -> JobType | None:
    """The job type offered when a request names none we know (None: the account offers nothing)."""
    rows = job_types(session, account)
    return rows[0] if rows else None


def resolve_job_type(session: Session, account: Account, name: str | None) -> tuple[JobType | None, bool]:
    """The job type a scheduler's `job.type` means, and whether it matched one (False: the default)."""
    if name and name.strip():
        found = job_type_named(session, account, name)
        if found is not None:
            return found, True
    return default_job_type(session, account), False
