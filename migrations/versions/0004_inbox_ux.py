"""inbox UX: snoozed threads, saved replies, full-text search over messages on PostgreSQL

Revision ID: 0004_inbox_ux
Revises: 0005_analytics
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004_inbox_ux"
down_revision = "0005_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("snoozed_until", core.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_saved_replies_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_replies")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_saved_replies_account_id_name")),
    )
    op.create_index(op.f("ix_saved_replies_account_id"), "saved_replies", ["account_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # The expression inbox/search.py matches with, so the planner can use it.
        op.execute("CREATE INDEX ix_messages_body_fts ON messages USING gin (to_tsvector('english'::regconfig, body))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
    op.drop_index(op.f("ix_saved_replies_account_id"), table_name="saved_replies")
    op.drop_table("saved_replies")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("snoozed_until")
