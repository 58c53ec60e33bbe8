from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.orders.models import Order


# state: "applied" (counted towards `order_id`), "unmatched" (waits for an operator),
# "refund" (not kept: all of it goes back).  refund_state: "" | "due" | "refunded".
TRANSFER_STATES = ("applied", "unmatched", "refund")


class BankTransfer(Model):
    """One incoming bank transaction as the notification service reported it,
    kept once per (provider, transaction id): a second delivery changes nothing."""

    __tablename__ = "bank_transfer"
    __table_args__ = (
        UniqueConstraint("provider", "transaction_id", name="one_per_transaction"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("applied_amount >= 0 AND refund_amount >= 0", name="parts"),
        CheckConstraint("applied_amount + refund_amount <= amount", name="parts_within_amount"),
        CheckConstraint("state IN ('applied', 'unmatched', 'refund')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), default="sepay")
    transaction_id: Mapped[str] = mapped_column(String(64))
    gateway: Mapped[str] = mapped_column(String(64), default="")  # the bank's short name
    transaction_date: Mapped[str] = mapped_column(String(32), default="")  # as the bank gave it (Vietnam time)
    account_number: Mapped[str] = mapped_column(String(40), default="")
    sub_account: Mapped[str] = mapped_column(String(40), default="")
    code: Mapped[str] = mapped_column(String(64), default="")  # the payment code the service itself found
    content: Mapped[str] = mapped_column(Text, default="")
    reference_code: Mapped[str] = mapped_column(String(64), default="")
    amount: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="unmatched", index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    applied_amount: Mapped[int] = mapped_column(default=0)  # counted towards the order
    refund_amount: Mapped[int] = mapped_column(default=0)  # to give back to the sender
    refund_state: Mapped[str] = mapped_column(String(16), default="", index=True)
    refund_reference: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")  # why it ended where it did
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    order: Mapped["Order | None"] = relationship()  # noqa: F821
