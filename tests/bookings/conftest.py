"""Bookings test fixtures: the agent tests' shop (Reyes Plumbing, one technician, Dana's thread)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.agent.conftest import Shop, make_shop


@pytest.fixture
def shop(session: Session) -> Shop:
    return make_shop(session)
