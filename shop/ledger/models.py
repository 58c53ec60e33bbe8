"""What the marketplace owes each producer: commission rates, ledger entries, payouts.

A producer's balance is always the sum of its entries; entries are only ever
added, never edited."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.catalog.models import Category
    from shop.orders.models import SubOrder
    from shop.producers.models import Producer


ENTRY_KINDS = ("earning", "shipping", "reversal", "adjustment", "payout")
PAYOUT_STATES = ("due", "paid")


class CommissionOverride(Model):
    """A producer's commission on one category (and the categories under it),
    in basis points (1/100 of a percent), instead of its general rate."""

    __table_args__ = (
        UniqueConstraint("producer_id", "category_id", name="uq_commission_override_producer_category"),
        CheckConstraint("rate_bp BETWEEN 0 AND 10000", name="rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    rate_bp: Mapped[int] = mapped_column()

    category: Mapped["Category"] = relationship()  # noqa: F821


class Payout(Model):
    """One producer's statement for one period [period_start, period_end) in
    Vietnam dates: the entries it settles carry its id."""

    __table_args__ = (
        UniqueConstraint("producer_id", "period_start", name="uq_payout_producer_period"),
        CheckConstraint("status IN ('due', 'paid')", name="status"),
        CheckConstraint("period_end > period_start", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(8), default="due", index=True)
    reference: Mapped[str] = mapped_column(String(120), default="")  # bank transfer reference
    paid_at: Mapped[datetime | None] = mapped_column()
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    producer: Mapped["Producer"] = relationship()  # noqa: F821
    entries: Mapped[list["LedgerEntry"]] = relationship(
        back_populates="payout", order_by="LedgerEntry.id", foreign_keys="LedgerEntry.payout_id"
    )


class LedgerEntry(Model):
    """A signed amount owed to (or taken back from) a producer.

    earning/shipping: a delivered sub-order's line (or shipping fee); reversal:
    the share of a refund; adjustment: an operator's correction with a reason;
    payout: money sent (negative). `key` makes automatic entries idempotent."""

    __table_args__ = (
        CheckConstraint(
            "kind IN ('earning', 'shipping', 'reversal', 'adjustment', 'payout')",
            name="kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column()
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_order.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"))
    # The parts of an earning, for the statement (zero on other kinds).
    gross: Mapped[int] = mapped_column(default=0)  # original price × units
    producer_funded: Mapped[int] = mapped_column(default=0)
    operator_funded: Mapped[int] = mapped_column(default=0)
    commission: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payout.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    payout: Mapped[Payout | None] = relationship(back_populates="entries", foreign_keys=[payout_id])
    sub_order: Mapped["SubOrder | None"] = relationship()  # noqa: F821
