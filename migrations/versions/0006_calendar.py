"""calendar owned by the business: several hour ranges a day, job type aliases and order,
the iCalendar feed token, deactivated users

Revision ID: 0006
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None

_accounts = sa.table('accounts', sa.column('id', sa.Integer()), sa.column('business_hours', sa.JSON()))


def _rewrite_hours(convert) -> None:
    conn = op.get_bind()
    for account_id, hours in conn.execute(sa.select(_accounts.c.id, _accounts.c.business_hours)).all():
        conn.execute(_accounts.update().where(_accounts.c.id == account_id)
                     .values(business_hours={day: convert(value) for day, value in (hours or {}).items()}))


def _to_ranges(value):
    # One flat [open, close] becomes a list of one range; an empty or odd value is a closed day.
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return [value]
    return [] if not value else value


def _to_pair(value):
    if isinstance(value, list) and value and isinstance(value[0], list):
        return value[0]
    return value or None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_accounts_feed_token'), ['feed_token'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('job_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aliases', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False))
    _rewrite_hours(_to_ranges)


def downgrade() -> None:
    _rewrite_hours(_to_pair)
    with op.batch_alter_table('job_types', schema=None) as batch_op:
        batch_op.drop_column('position')
        batch_op.drop_column('aliases')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_accounts_feed_token'), type_='unique')
        batch_op.drop_column('feed_token')
