"""analytics: the per-account attribution window and the indexes the dashboard's queries use

Revision ID: 0005_analytics
Revises: 0007
Create Date: 2026-11-23 11:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_analytics'
down_revision = '0007'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_booking_sessions_account_abandoned", "booking_sessions", ["account_id", "abandoned_at"]),
    ("ix_followups_contact_sent", "followups", ["contact_id", "sent_at"]),
    ("ix_followups_account_sent", "followups", ["account_id", "sent_at"]),
    ("ix_followups_account_status_due", "followups", ["account_id", "status", "due_at"]),
    ("ix_messages_thread_direction_created", "messages", ["thread_id", "direction", "created_at"]),
    ("ix_messages_thread_id_id", "messages", ["thread_id", "id"]),
    ("ix_consent_events_message", "consent_events", ["message_id"]),
    ("ix_consent_events_contact_action", "consent_events", ["contact_id", "action", "created_at"]),
    ("ix_bookings_account_created", "bookings", ["account_id", "created_at"]),
    ("ix_threads_account_owner_status", "threads", ["account_id", "owner", "status"]),
)


def upgrade() -> None:
    op.create_table('analytics_settings',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('attribution_window_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_analytics_settings_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_analytics_settings'))
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('analytics_settings')
