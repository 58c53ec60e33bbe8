"""VietQR bank transfers: the bank_transfer table (incoming transactions, each
once), order.amount_received, company-invoice details on orders, the producer's
bank BIN, and 'vietqr' as a payment method.

Revision ID: d4e6a8b0c2f1
Revises: d4e6f8a0b2c1
Create Date: 2026-12-02 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d4e6a8b0c2f1"
down_revision = "d4e6f8a0b2c1"
branch_labels = None
depends_on = None


def set_payment_methods(condition: str) -> None:
    """Replace order's payment_method CHECK. SQLite rebuilds the table for that,
    which it can only do with foreign keys off (other tables point at order)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table("order", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("ck_order_payment_method"), type_="check")
        batch.create_check_constraint("payment_method", condition)
    if sqlite:
        op.execute("PRAGMA foreign_keys=ON")


def upgrade():
    op.create_table(
        "bank_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("transaction_date", sa.String(length=32), nullable=False),
        sa.Column("account_number", sa.String(length=40), nullable=False),
        sa.Column("sub_account", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("reference_code", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("applied_amount", sa.Integer(), nullable=False),
        sa.Column("refund_amount", sa.Integer(), nullable=False),
        sa.Column("refund_state", sa.String(length=16), nullable=False),
        sa.Column("refund_reference", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bank_transfer_amount_positive")),
        sa.CheckConstraint("applied_amount >= 0 AND refund_amount >= 0", name=op.f("ck_bank_transfer_parts")),
        sa.CheckConstraint(
            "applied_amount + refund_amount <= amount", name=op.f("ck_bank_transfer_parts_within_amount")
        ),
        sa.CheckConstraint("state IN ('applied', 'unmatched', 'refund')", name=op.f("ck_bank_transfer_state")),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_bank_transfer_order_id_order")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["user.id"], name=op.f("fk_bank_transfer_resolved_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transfer")),
        sa.UniqueConstraint("provider", "transaction_id", name=op.f("uq_bank_transfer_one_per_transaction")),
    )
    with op.batch_alter_table("bank_transfer") as batch:
        batch.create_index(batch.f("ix_bank_transfer_order_id"), ["order_id"], unique=False)
        batch.create_index(batch.f("ix_bank_transfer_state"), ["state"], unique=False)
        batch.create_index(batch.f("ix_bank_transfer_refund_state"), ["refund_state"], unique=False)
        batch.create_index(batch.f("ix_bank_transfer_received_at"), ["received_at"], unique=False)
    set_payment_methods("payment_method IN ('card', 'cod', 'vietqr')")
    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("amount_received", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("invoice_company", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("invoice_tax_code", sa.String(length=14), nullable=False, server_default=""))
        batch.add_column(sa.Column("invoice_address", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("invoice_email", sa.String(length=254), nullable=False, server_default=""))
    with op.batch_alter_table("producer") as batch:
        batch.add_column(sa.Column("bank_bin", sa.String(length=8), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("producer") as batch:
        batch.drop_column("bank_bin")
    op.execute("UPDATE \"order\" SET payment_method = 'card' WHERE payment_method = 'vietqr'")
    set_payment_methods("payment_method IN ('card', 'cod')")
    with op.batch_alter_table("order") as batch:
        for name in ("invoice_email", "invoice_address", "invoice_tax_code", "invoice_company", "amount_received"):
            batch.drop_column(name)
    op.drop_table("bank_transfer")
