"""product.name_en (the name shown in the English storefront, searched in both
languages); the search text no longer repeats the category names (the catalog
index matches categories on its own, as a last resort), so it is recomputed.

Revision ID: c3d5e8f1a2b4
Revises: b7e2c91d4f10
Create Date: 2026-12-02 14:30:00
"""

import sqlalchemy as sa
from alembic import op

from shop.text import fold

revision = "c3d5e8f1a2b4"
down_revision = "b7e2c91d4f10"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("name_en", sa.String(200), nullable=False, server_default=""))
    conn = op.get_bind()
    skus: dict[int, list[str]] = {}
    for product_id, sku in conn.execute(sa.text("SELECT product_id, sku FROM variant")):
        skus.setdefault(product_id, []).append(sku)
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT p.id, p.name, p.name_en, p.description, pr.name, pv.name FROM product p "
                "JOIN producer pr ON pr.id = p.producer_id JOIN province pv ON pv.id = p.province_id "
                "WHERE p.id > :last ORDER BY p.id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        conn.execute(
            sa.text("UPDATE product SET search_name = :name, search_body = :body WHERE id = :id"),
            [
                {
                    "id": pid,
                    "name": fold(f"{name} {name_en}".strip()),
                    "body": fold(" ".join([producer, province, *skus.get(pid, []), description or ""])),
                }
                for pid, name, name_en, description, producer, province in rows
            ],
        )
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table("product") as batch:
        batch.drop_column("name_en")
