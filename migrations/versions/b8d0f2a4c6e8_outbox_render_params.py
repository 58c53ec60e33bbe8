"""OutboxEmail.params: what the worker renders (kind's template, the ids it reads, the
recipient's language), until it has rendered the row's subject and bodies.

Revision ID: b8d0f2a4c6e8
Revises: a7c9e1f3b5d7
Create Date: 2026-12-07 19:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b8d0f2a4c6e8"
down_revision = "a7c9e1f3b5d7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    # Rows still waiting to be rendered have no subject or body to keep: render them first
    # (run the worker until the outbox is empty) or they are sent empty.
    with op.batch_alter_table("outbox_email", schema=None) as batch_op:
        batch_op.drop_column("params")
