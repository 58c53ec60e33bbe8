"""Product.sold_count: units of the product delivered to buyers ("Đã bán N"),
kept by the periodic recount in shop.catalog.sold (checkout never writes it).

Revision ID: a7c9e1f3b5d7
Revises: f6a8b0c2d4e6
Create Date: 2026-12-07 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c9e1f3b5d7"
down_revision = "f6a8b0c2d4e6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sold_count", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("sold_count")
