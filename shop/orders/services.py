"""Order state changes. Each public function is one use case and commits once;
helpers named without a leading verb-commit (e.g. `release_stock`) don't commit.

Order:     awaiting_payment -> paid (card) | placed (COD) | cancelled
Sub-order: pending -> confirmed -> shipped -> delivered, or cancelled before shipping
"""

from datetime import datetime

from sqlalchemy import select, update

from shop.cart.services import clear_lines
from shop.catalog.models import Variant
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders.models import Order, OrderEvent, SubOrder

NEXT_STATES = {
    "pending": ("confirmed", "cancelled"),
    "confirmed": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}


class OrderStateError(ShopError):
    status = 409
    code = "bad_state"


def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("Không tìm thấy đơn hàng.")
    return order


def release_stock(sub: SubOrder) -> list[int]:
    """Give back what a sub-order still holds (no commit); returns the variant ids touched."""
    touched = []
    for line in sub.lines:
        held = line.quantity - line.cancelled_quantity
        if held > 0 and line.variant_id is not None:
            db.session.execute(
                update(Variant)
                .where(Variant.id == line.variant_id)
                .values(stock=Variant.stock + held)
                .execution_options(synchronize_session=False)
            )
            touched.append(line.variant_id)
    return touched


def _product_ids(variant_ids: list[int]) -> list[int]:
    if not variant_ids:
        return []
    return list(db.session.scalars(select(Variant.product_id).where(Variant.id.in_(variant_ids)).distinct()))


def _cancel(order: Order, reason: str, now: datetime) -> list[int]:
    touched = []
    for sub in order.sub_orders:
        if sub.status != "cancelled":
            touched += release_stock(sub)
            sub.status, sub.cancelled_at, sub.cancel_reason = "cancelled", now, reason
    order.status, order.cancelled_at, order.cancel_reason = "cancelled", now, reason
    order.reserved_until = None
    order.events.append(OrderEvent(kind="cancelled", note=reason))
    return touched


def cancel_unpaid_orders_of_cart(cart_id: int, reason: str) -> list[int]:
    """Cancel the cart's orders still awaiting payment, releasing their stock (no commit)."""
    touched = []
    now = utcnow()
    for order in db.session.scalars(
        select(Order).where(Order.cart_id == cart_id, Order.status == "awaiting_payment").with_for_update()
    ):
        touched += _cancel(order, reason, now)
    db.session.flush()
    return touched


def release_if_expired(order_id: int, now: datetime | None = None) -> bool:
    """Cancel an unpaid card order whose reservation has run out. Safe to run twice."""
    now = now or utcnow()
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None or order.status != "awaiting_payment" or order.reserved_until is None:
        return False
    until = order.reserved_until if order.reserved_until.tzinfo else order.reserved_until.replace(tzinfo=now.tzinfo)
    if until > now:
        return False
    touched = _cancel(order, "payment not completed in time", now)
    commit_catalog_change(_product_ids(touched))
    return True


def expired_unpaid_order_ids(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(select(Order.id).where(Order.status == "awaiting_payment", Order.reserved_until <= now))
    )


def mark_paid(order_id: int, amount: int, currency: str) -> str:
    """Record that the card payment for an order succeeded. Returns "paid",
    "already_paid", "mismatch" (amount/currency differ: nothing changes) or
    "cancelled" (the reservation had already been released: the caller refunds)."""
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None:
        raise NotFound("Không tìm thấy đơn hàng.")
    if currency.lower() != "vnd" or amount != order.total:
        order.events.append(OrderEvent(kind="payment_mismatch", note=f"{amount} {currency}"))
        db.session.commit()
        return "mismatch"
    if order.status == "paid":
        return "already_paid"
    if order.status == "cancelled":
        order.events.append(OrderEvent(kind="paid_after_cancel", note=f"{amount} {currency}"))
        db.session.commit()
        return "cancelled"
    order.status, order.paid_at, order.reserved_until = "paid", utcnow(), None
    order.events.append(OrderEvent(kind="paid", note=f"{amount} {currency}"))
    if order.cart_id is not None:
        clear_lines(
            order.cart_id,
            [line.variant_id for s in order.sub_orders for line in s.lines if line.variant_id is not None],
        )
    db.session.commit()
    return "paid"


def record_payment_failure(order_id: int, message: str) -> None:
    order = get_order(order_id)
    order.events.append(OrderEvent(kind="payment_failed", note=message[:500]))
    db.session.commit()


def _sub_order(sub_order_id: int, producer_ids: list[int] | None) -> SubOrder:
    stmt = select(SubOrder).where(SubOrder.id == sub_order_id)
    if producer_ids is not None:
        stmt = stmt.where(SubOrder.producer_id.in_(producer_ids))
    sub = db.session.scalars(stmt.with_for_update()).first()
    if sub is None:
        raise NotFound("Không tìm thấy đơn hàng.")
    return sub


def _move(sub: SubOrder, to: str) -> None:
    if to not in NEXT_STATES[sub.status]:
        raise OrderStateError(f"Không thể chuyển đơn từ “{sub.status}” sang “{to}”.")
    if sub.order.status == "awaiting_payment":
        raise OrderStateError("Đơn hàng chưa được thanh toán.")
    if sub.order.status == "cancelled":
        raise OrderStateError("Đơn hàng đã bị huỷ.")


def confirm_sub_order(sub_order_id: int, producer_ids: list[int] | None = None) -> SubOrder:
    """The producer accepts its part of the order (`producer_ids` scopes who may)."""
    sub = _sub_order(sub_order_id, producer_ids)
    _move(sub, "confirmed")
    sub.status, sub.confirmed_at = "confirmed", utcnow()
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="confirmed"))
    db.session.commit()
    return sub


def ship_sub_order(
    sub_order_id: int, carrier: str, tracking_number: str, producer_ids: list[int] | None = None
) -> SubOrder:
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier or not tracking_number:
        raise ShopError("Nhập đơn vị vận chuyển và mã vận đơn.", code="missing_tracking")
    sub = _sub_order(sub_order_id, producer_ids)
    _move(sub, "shipped")
    sub.status, sub.shipped_at = "shipped", utcnow()
    sub.carrier, sub.tracking_number = carrier[:80], tracking_number[:80]
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="shipped", note=f"{carrier} {tracking_number}"))
    db.session.commit()
    return sub


def deliver_sub_order(sub_order_id: int, producer_ids: list[int] | None = None) -> SubOrder:
    sub = _sub_order(sub_order_id, producer_ids)
    _move(sub, "delivered")
    sub.status, sub.delivered_at = "delivered", utcnow()
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="delivered"))
    db.session.commit()
    return sub


def cancel_sub_order(sub_order_id: int, reason: str, producer_ids: list[int] | None = None) -> SubOrder:
    """Cancel one producer's part before it ships; its stock returns. A paid
    sub-order must also be refunded: the payments service does both."""
    if not reason.strip():
        raise ShopError("Cho biết lý do huỷ.", code="missing_reason")
    sub = _sub_order(sub_order_id, producer_ids)
    if sub.status not in ("pending", "confirmed"):
        raise OrderStateError("Chỉ huỷ được phần đơn chưa giao cho vận chuyển.")
    touched = release_stock(sub)
    sub.status, sub.cancelled_at, sub.cancel_reason = "cancelled", utcnow(), reason.strip()
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="cancelled", note=reason.strip()))
    if all(s.status == "cancelled" for s in sub.order.sub_orders) and sub.order.status != "paid":
        sub.order.status, sub.order.cancelled_at = "cancelled", utcnow()
    commit_catalog_change(_product_ids(touched))
    return sub


def cancel_by_shopper(order_id: int, user_id: int | None, reason: str) -> Order:
    """A shopper cancels an order no producer has confirmed yet and that was not
    paid by card (paid orders go through a refund)."""
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None or (user_id is not None and order.user_id != user_id):
        raise NotFound("Không tìm thấy đơn hàng.")
    if order.status not in ("placed", "awaiting_payment"):
        raise OrderStateError("Đơn hàng này không thể tự huỷ; hãy liên hệ để được hoàn tiền.")
    if any(s.status != "pending" for s in order.sub_orders):
        raise OrderStateError("Đơn đã được nhà sản xuất xác nhận, không thể tự huỷ.")
    touched = _cancel(order, reason.strip() or "cancelled by the shopper", utcnow())
    commit_catalog_change(_product_ids(touched))
    return order
