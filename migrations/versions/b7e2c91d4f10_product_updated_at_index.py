"""Index product.updated_at: the in-memory catalog index reads max(updated_at)
on every uncached listing to see whether anything changed.

Revision ID: b7e2c91d4f10
Revises: a15dc69d0411
Create Date: 2026-12-02 12:40:00
"""

from alembic import op

revision = "b7e2c91d4f10"
down_revision = "a15dc69d0411"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_product_updated_at", "product", ["updated_at"])


def downgrade():
    op.drop_index("ix_product_updated_at", table_name="product")
