"""catalog: listed flag and owner type on products, one index per facet

Revision ID: a16466509910
Revises: 921dd4d7f42e
Create Date: 2026-11-22 19:50:18.021343

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a16466509910'
down_revision = '921dd4d7f42e'
branch_labels = None
depends_on = None


INDEXES = {
    "ix_product_listed_category": ["listed", "category_id"],
    "ix_product_listed_created": ["listed", "created_at"],
    "ix_product_listed_owner": ["listed", "owner_type"],
    "ix_product_listed_price": ["listed", "min_price"],
    "ix_product_listed_province": ["listed", "province_id"],
    "ix_product_listed_stars": ["listed", "cert_stars", "cert_valid_until"],
    "ix_product_listed_stock": ["listed", "in_stock"],
}


def upgrade():
    # Plain ALTERs (no batch copy): on SQLite a table copy would drop the FTS triggers.
    op.add_column("product", sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("product", sa.Column("owner_type", sa.String(length=24), nullable=False, server_default=""))
    op.execute(
        "UPDATE product SET "
        "owner_type = (SELECT owner_type FROM producer WHERE producer.id = product.producer_id), "
        "listed = (status = 'published' AND "
        "(SELECT status FROM producer WHERE producer.id = product.producer_id) = 'approved')"
    )
    op.drop_index("ix_product_listing", table_name="product")
    op.drop_index("ix_product_price", table_name="product")
    for name, columns in INDEXES.items():
        op.create_index(name, "product", columns)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="product")
    op.create_index("ix_product_price", "product", ["status", "min_price"])
    op.create_index("ix_product_listing", "product", ["status", "created_at"])
    op.drop_column("product", "owner_type")
    op.drop_column("product", "listed")
