"""E-mail outbox: retries with backoff and a cap. `next_attempt_at` (not before),
`maybe_sent` (attempts whose conversation broke after the message was handed
over, so it may have arrived) and `failed_at` (given up: shown in /ops).

Revision ID: e5f7a9b1c3d2
Revises: d4e6a8b0c2f1
Create Date: 2026-12-02 17:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e5f7a9b1c3d2"
down_revision = "d4e6a8b0c2f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("maybe_sent", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_email_failed_at"), ["failed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_email_failed_at"))
        batch_op.drop_column("failed_at")
        batch_op.drop_column("maybe_sent")
        batch_op.drop_column("next_attempt_at")
