"""Index on order.email: when a verified account signs in, the orders placed as a
guest with its address join it.

Revision ID: f6a8b0c2d4e6
Revises: c9c5e61c01d8
Create Date: 2026-12-02 20:30:00
"""

from alembic import op

revision = "f6a8b0c2d4e6"
down_revision = "c9c5e61c01d8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_email"), ["email"], unique=False)


def downgrade():
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_email"))
