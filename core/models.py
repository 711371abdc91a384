"""Imports every package's tables so the metadata (Alembic, tests) sees the whole schema."""

from agent import models as agent_models  # noqa: F401
from core.db import Base
from followups import models as followup_models  # noqa: F401
from inbox import models as inbox_models  # noqa: F401

metadata = Base.metadata
