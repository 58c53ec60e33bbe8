from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.orders.models import Order


class Payment(Model):
    """A Stripe PaymentIntent for an order. `amount` is whole đồng (VND is zero-decimal)."""

    __table_args__ = (CheckConstraint("amount >= 0 AND refunded_amount >= 0", name="amounts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="vnd")
    status: Mapped[str] = mapped_column(String(32))
    failure_message: Mapped[str] = mapped_column(Text, default="")
    refunded_amount: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    order: Mapped["Order"] = relationship()  # noqa: F821


class Refund(Model):
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    sub_order_id: Mapped[int] = mapped_column(ForeignKey("sub_order.id"), index=True)
    amount: Mapped[int] = mapped_column()
    stripe_refund_id: Mapped[str] = mapped_column(String(255), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeEvent(Model):
    """Each webhook event id once: the primary key makes a second delivery a no-op."""

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
