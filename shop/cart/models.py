from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.catalog.models import Variant


class Cart(Model):
    """A shopper's cart (user_id) or a visitor's (token, from a signed cookie)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    voucher_code: Mapped[str | None] = mapped_column(String(32))  # checked again whenever the cart is read
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list["CartLine"]] = relationship(
        back_populates="cart", order_by="CartLine.id", cascade="all, delete-orphan"
    )


class CartLine(Model):
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_line_cart_variant"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    quantity: Mapped[int] = mapped_column()
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    variant: Mapped["Variant"] = relationship()  # noqa: F821
