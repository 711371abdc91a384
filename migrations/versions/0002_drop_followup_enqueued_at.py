"""follow-ups: drop enqueued_at, which nothing wrote or read

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import core.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_column('enqueued_at')


def downgrade() -> None:
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enqueued_at', core.db.UTCDateTime(timezone=True), nullable=True))
