"""Start-up wiring shared by the web app, the worker and the CLI: every table, every reaction.

The inbox and bookings announce what happened (`core.hooks`); here, in one place, each consumer
registers what it does about it. Nothing else imports a consumer to make it react.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from agent import models as agent_models
from agent import service as agent_service
from analytics import attribution
from analytics import models as analytics_models
from bookings import models as booking_models
from core import outbox
from core.db import Base
from followups import models as followup_models
from followups import service as followup_service
from inbox import models as inbox_models
from integrations import events as integration_events
from integrations import models as integration_models

# Importing every package's models is what puts their tables in the metadata (Alembic, tests).
MODEL_MODULES = (outbox, inbox_models, booking_models, followup_models, agent_models, integration_models,
                 analytics_models)
metadata: MetaData = Base.metadata  # the whole schema


def wire() -> None:
    """Register every consumer's reactions (idempotent: a second call changes nothing)."""
    followup_service.register()
    agent_service.register()
    attribution.register()
    integration_events.register()
