from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.places.models import Province
    from shop.producers.models import Producer


ORDER_STATUSES = ("awaiting_payment", "paid", "placed", "cancelled")
SUB_ORDER_STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")
# Why the shop itself cancelled an order: stored as these codes, shown in the reader's
# language (people's own reasons are stored and shown as they typed them).
LAPSED_REASON = "payment not completed in time"  # an unpaid order whose hold ran out
REPLACED_REASON = "replaced by a new checkout of the same cart"
SHOPPER_REASON = "cancelled by the shopper"  # a shopper who cancelled without saying why
CANCEL_REASON_LABELS = {
    LAPSED_REASON: _l("hết thời gian thanh toán"),
    REPLACED_REASON: _l("đã đặt lại từ cùng giỏ hàng"),
    SHOPPER_REASON: _l("người mua đã huỷ đơn"),
}
# The statuses as people read them.
ORDER_STATUS_LABELS = {
    "awaiting_payment": _l("Chờ thanh toán"),
    "paid": _l("Đã thanh toán"),
    "placed": _l("Đã đặt"),
    "cancelled": _l("Đã huỷ"),
}
SUB_ORDER_STATUS_LABELS = {
    "pending": _l("Chờ xác nhận"),
    "confirmed": _l("Đã xác nhận"),
    "shipped": _l("Đang giao"),
    "delivered": _l("Đã giao"),
    "cancelled": _l("Đã huỷ"),
}
PAYMENT_METHODS = ("card", "cod", "vietqr")
# Order numbers: "OC" + yymmdd + "-" + five of these (no 0/O, 1/I, so people can read them out).
ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Order(Model):
    """What a shopper bought in one checkout. Amounts are whole đồng computed on
    the server; the address is a snapshot so later edits don't change it."""

    __table_args__ = (
        CheckConstraint("status IN ('awaiting_payment', 'paid', 'placed', 'cancelled')", name="status"),
        CheckConstraint("payment_method IN ('card', 'cod', 'vietqr')", name="payment_method"),
        CheckConstraint("total >= 0 AND subtotal >= 0 AND shipping_total >= 0", name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    checkout_key: Mapped[str] = mapped_column(String(64), unique=True)  # one order per checkout attempt
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The cart it came from: a new checkout of the same cart replaces an unpaid order.
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("cart.id", ondelete="SET NULL"), index=True)
    # Secret for the emailed link that lets a guest view the order.
    access_token: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower-cased; guest orders join the account
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    recipient: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"))
    address_text: Mapped[str] = mapped_column(Text)  # street, ward, province as printed on the parcel
    payment_method: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), index=True)
    subtotal: Mapped[int] = mapped_column()
    shipping_total: Mapped[int] = mapped_column()
    discount_total: Mapped[int] = mapped_column(default=0)  # promotions and voucher together
    voucher_code: Mapped[str | None] = mapped_column(String(32))
    voucher_discount: Mapped[int] = mapped_column(default=0, server_default="0")
    total: Mapped[int] = mapped_column()
    reserved_until: Mapped[datetime | None] = mapped_column(index=True)
    # Bank transfers (VietQR) counted towards the total so far, in đồng.
    amount_received: Mapped[int] = mapped_column(default=0, server_default="0")
    # A company invoice ("Xuất hóa đơn công ty"), optional: empty company means none.
    invoice_company: Mapped[str] = mapped_column(String(200), default="", server_default="")
    invoice_tax_code: Mapped[str] = mapped_column(String(14), default="", server_default="")
    invoice_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    invoice_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    paid_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    sub_orders: Mapped[list["SubOrder"]] = relationship(
        back_populates="order", order_by="SubOrder.id", cascade="all, delete-orphan"
    )
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    province: Mapped["Province"] = relationship()  # noqa: F821

    @property
    def payment_code(self) -> str:
        """What a bank transfer's note must carry: the order number without its dash
        (banks drop dashes anyway)."""
        return self.number.replace("-", "")

    @property
    def amount_due(self) -> int:
        return max(0, self.total - self.amount_received)


class SubOrder(Model):
    """One producer's part of an order: its own lines, shipping fee, state and parcel."""

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')", name="status"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= total", name="refund_bounds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    subtotal: Mapped[int] = mapped_column()
    shipping_fee: Mapped[int] = mapped_column()
    total: Mapped[int] = mapped_column()
    weight_grams: Mapped[int] = mapped_column()
    refunded_amount: Mapped[int] = mapped_column(default=0)
    carrier: Mapped[str] = mapped_column(String(80), default="")
    tracking_number: Mapped[str] = mapped_column(String(80), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column()
    shipped_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(back_populates="sub_orders")
    producer: Mapped["Producer"] = relationship()  # noqa: F821
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="sub_order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )

    # What the shop's part adds up to, as its sums show it (from the lines).
    @property
    def original_subtotal(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)

    @property
    def promo_savings(self) -> int:
        return sum(line.promo_discount for line in self.lines)

    @property
    def voucher_discount(self) -> int:
        return sum(line.voucher_discount for line in self.lines)


class OrderLine(Model):
    """A snapshot of what was bought: catalog edits later do not change it."""

    __table_args__ = (
        CheckConstraint("quantity > 0 AND unit_price >= 0 AND discount >= 0", name="amounts"),
        CheckConstraint("cancelled_quantity >= 0 AND cancelled_quantity <= quantity", name="cancelled_bounds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_order_id: Mapped[int] = mapped_column(ForeignKey("sub_order.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id", ondelete="SET NULL"), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    variant_label: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[int] = mapped_column()
    quantity: Mapped[int] = mapped_column()
    discount: Mapped[int] = mapped_column(default=0)  # for the whole line, in đồng: promo + voucher
    # What the discount was and who pays for it, frozen when the order is placed.
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotion.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("promotion_enrolment.id"))
    promo_units: Mapped[int] = mapped_column(default=0, server_default="0")  # units at the promotional price
    promo_discount: Mapped[int] = mapped_column(default=0, server_default="0")
    voucher_discount: Mapped[int] = mapped_column(default=0, server_default="0")
    operator_funded: Mapped[int] = mapped_column(default=0, server_default="0")  # the marketplace's share of `discount`
    discount_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    commission_bp: Mapped[int] = mapped_column(default=0, server_default="0")
    line_total: Mapped[int] = mapped_column()  # unit_price * quantity - discount
    cancelled_quantity: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)

    sub_order: Mapped[SubOrder] = relationship(back_populates="lines")


class OrderEvent(Model):
    """The order's timeline: what happened, to which sub-order, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_order.id"))
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
