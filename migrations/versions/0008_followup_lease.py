"""follow-ups: lease_until, so each due follow-up is taken by one sweep at a time

Revision ID: 0008
Revises: 0004_inbox_ux
"""

from alembic import op
import sqlalchemy as sa
import core.db


revision = '0008'
down_revision = '0004_inbox_ux'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
