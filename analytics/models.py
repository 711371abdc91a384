"""Analytics' own table (the per-account attribution window) and the indexes its queries need.

The indexes are declared here, next to the queries that use them, on tables other packages own;
declaring them on the shared metadata keeps the models and the migration (0005) in step.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from bookings.models import Booking, BookingSession
from core.db import Base
from followups.models import Followup
from inbox.models import ConsentEvent, Message, Thread

DEFAULT_ATTRIBUTION_DAYS = 7
MAX_ATTRIBUTION_DAYS = 90


class AnalyticsSettings(Base):
    """One row per account that changed a default; an account without a row uses the defaults."""

    __tablename__ = "analytics_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_ATTRIBUTION_DAYS)


# The funnel's cohort: an account's sessions by abandonment time.
Index("ix_booking_sessions_account_abandoned", BookingSession.account_id, BookingSession.abandoned_at)
# Last touch: a contact's sent follow-ups by time; tiles: sent today.
Index("ix_followups_contact_sent", Followup.contact_id, Followup.sent_at)
Index("ix_followups_account_sent", Followup.account_id, Followup.sent_at)
# Tiles: scheduled follow-ups by due time, per account.
Index("ix_followups_account_status_due", Followup.account_id, Followup.status, Followup.due_at)
# Replies after a follow-up, and a thread's newest text.
Index("ix_messages_thread_direction_created", Message.thread_id, Message.direction, Message.created_at)
Index("ix_messages_thread_id_id", Message.thread_id, Message.id)
# "Was this text an opt-out?" and opt-outs after a follow-up.
Index("ix_consent_events_message", ConsentEvent.message_id)
Index("ix_consent_events_contact_action", ConsentEvent.contact_id, ConsentEvent.action, ConsentEvent.created_at)
# Bookings by day and a contact's bookings.
Index("ix_bookings_account_created", Booking.account_id, Booking.created_at)
# Tiles: the agent's and the escalated threads.
Index("ix_threads_account_owner_status", Thread.account_id, Thread.owner, Thread.status)
