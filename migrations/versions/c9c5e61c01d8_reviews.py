"""Buyers' reviews (one per delivered order line) with photos, and the product's
denormalised rating_sum/rating_count of its visible reviews.

Revision ID: c9c5e61c01d8
Revises: e5f7a9b1c3d2
Create Date: 2026-12-02 21:01:06.496172

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c9c5e61c01d8"
down_revision = "e5f7a9b1c3d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=120), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name=op.f("ck_review_rating_range")),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_line.id"], name=op.f("fk_review_order_line_id_order_line")),
        sa.ForeignKeyConstraint(["producer_id"], ["producer.id"], name=op.f("fk_review_producer_id_producer")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_review_product_id_product")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_review_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_review_order_line_id")),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_producer_id"), ["producer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_user_id"), ["user_id"], unique=False)

    op.create_table(
        "review_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], name=op.f("fk_review_photo_review_id_review")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_photo")),
    )
    with op.batch_alter_table("review_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_photo_review_id"), ["review_id"], unique=False)

    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_sum", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rating_count", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("rating_count")
        batch_op.drop_column("rating_sum")

    with op.batch_alter_table("review_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_photo_review_id"))

    op.drop_table("review_photo")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_user_id"))
        batch_op.drop_index(batch_op.f("ix_review_product_id"))
        batch_op.drop_index(batch_op.f("ix_review_producer_id"))
        batch_op.drop_index(batch_op.f("ix_review_created_at"))

    op.drop_table("review")
