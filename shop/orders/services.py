"""Order state changes. Each public function is one use case and commits once;
helpers named without a leading verb-commit (e.g. `release_stock`) don't commit.

Order:     awaiting_payment -> paid (card) | placed (COD) | cancelled
Sub-order: pending -> confirmed -> shipped -> delivered, or cancelled before shipping
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from shop.cart.services import clear_lines
from shop.catalog.changes import note_stock_change
from shop.catalog.models import Variant
from shop.catalog.services import commit_catalog_change
from shop.database import rowcount
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.ledger import services as ledger
from shop.notifications.services import notify_cancelled, notify_order_placed, notify_shipped
from shop.orders import stock
from shop.orders.models import (
    LAPSED_REASON,
    SHOPPER_REASON,
    SUB_ORDER_STATUS_LABELS,
    Order,
    OrderEvent,
    OrderLine,
    SubOrder,
)
from shop.partners.services import record_variant_changes
from shop.promotions import vouchers

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
        raise NotFound(_l("Không tìm thấy đơn hàng."))
    return order


def _held(subs: list[SubOrder]) -> list[stock.Hold]:
    """What the sub-orders' lines still hold: units not cancelled, and the promotional units."""
    return [
        stock.Hold(line.variant_id, line.quantity - line.cancelled_quantity, line.enrolment_id, line.promo_units)
        for sub in subs
        for line in sub.lines
    ]


def release_stock(*subs: SubOrder) -> list[int]:
    """Give back what the sub-orders still hold (no commit), and the promotional
    quota their lines took, in the one fixed order of shop.orders.stock;
    returns the variant ids touched."""
    touched = stock.give_back(_held(list(subs)))
    record_variant_changes(touched)
    return touched


def product_ids_of_variants(variant_ids: list[int]) -> list[int]:
    """The products the given variants belong to (for the page-cache purge after a stock change)."""
    if not variant_ids:
        return []
    return list(db.session.scalars(select(Variant.product_id).where(Variant.id.in_(variant_ids)).distinct()))


def _cancel(order: Order, reason: str, now: datetime) -> list[int]:
    open_subs = [sub for sub in order.sub_orders if sub.status != "cancelled"]
    touched = release_stock(*open_subs)  # all of the order's rows at once, in the fixed order
    for sub in open_subs:
        sub.status, sub.cancelled_at, sub.cancel_reason = "cancelled", now, reason
    order.status, order.cancelled_at, order.cancel_reason = "cancelled", now, reason
    order.reserved_until = None
    vouchers.release(order.id)
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
    touched = _cancel(order, LAPSED_REASON, now)
    commit_catalog_change(product_ids_of_variants(touched))
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
        raise NotFound(_l("Không tìm thấy đơn hàng."))
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
    # The shopper's "đã nhận đơn hàng" and each producer's "Đơn mới": true only now for a card order.
    notify_order_placed(order)
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


def lock_sub_order(sub_order_id: int, producer_ids: list[int] | None) -> SubOrder:
    """The sub-order, row-locked, if it belongs to one of `producer_ids` (any producer when None)."""
    stmt = select(SubOrder).where(SubOrder.id == sub_order_id)
    if producer_ids is not None:
        stmt = stmt.where(SubOrder.producer_id.in_(producer_ids))
    sub = db.session.scalars(stmt.with_for_update()).first()
    if sub is None:
        raise NotFound(_l("Không tìm thấy đơn hàng."))
    return sub


def _move(sub: SubOrder, to: str) -> None:
    if to not in NEXT_STATES[sub.status]:
        raise OrderStateError(
            _l(
                "Không thể chuyển đơn từ “%(current)s” sang “%(wanted)s”.",
                current=SUB_ORDER_STATUS_LABELS.get(sub.status, sub.status),
                wanted=SUB_ORDER_STATUS_LABELS.get(to, to),
            )
        )
    if sub.order.status == "awaiting_payment":
        raise OrderStateError(_l("Đơn hàng chưa được thanh toán."))
    if sub.order.status == "cancelled":
        raise OrderStateError(_l("Đơn hàng đã bị huỷ."))


def confirm_sub_order(sub_order_id: int, producer_ids: list[int] | None = None) -> SubOrder:
    """The producer accepts its part of the order (`producer_ids` scopes who may)."""
    sub = lock_sub_order(sub_order_id, producer_ids)
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
        raise ShopError(_l("Nhập đơn vị vận chuyển và mã vận đơn."), code="missing_tracking")
    sub = lock_sub_order(sub_order_id, producer_ids)
    _move(sub, "shipped")
    sub.status, sub.shipped_at = "shipped", utcnow()
    sub.carrier, sub.tracking_number = carrier[:80], tracking_number[:80]
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="shipped", note=f"{carrier} {tracking_number}"))
    notify_shipped(sub)
    db.session.commit()
    return sub


def deliver_sub_order(sub_order_id: int, producer_ids: list[int] | None = None) -> SubOrder:
    sub = lock_sub_order(sub_order_id, producer_ids)
    _move(sub, "delivered")
    sub.status, sub.delivered_at = "delivered", utcnow()
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="delivered"))
    db.session.flush()
    ledger.record_delivery(sub.id)  # the producer's earnings, in the same transaction
    db.session.commit()
    return sub


def cancel_sub_order(sub_order_id: int, reason: str, producer_ids: list[int] | None = None) -> SubOrder:
    """Cancel one producer's part before it ships; its stock returns. A paid
    sub-order must also be refunded: shop.cancellations does both."""
    if not reason.strip():
        raise ShopError(_l("Cho biết lý do huỷ."), code="missing_reason")
    sub = lock_sub_order(sub_order_id, producer_ids)
    if sub.status not in ("pending", "confirmed"):
        raise OrderStateError(_l("Chỉ huỷ được phần đơn chưa giao cho vận chuyển."))
    if sub.order.status == "awaiting_payment":
        # A later payment would cover the whole order, this part included.
        raise OrderStateError(_l("Đơn hàng đang chờ thanh toán thẻ; chưa thể huỷ từng phần."))
    touched = release_stock(sub)
    sub.status, sub.cancelled_at, sub.cancel_reason = "cancelled", utcnow(), reason.strip()
    sub.order.events.append(OrderEvent(sub_order_id=sub.id, kind="cancelled", note=reason.strip()))
    notify_cancelled(sub, reason.strip())
    if all(s.status == "cancelled" for s in sub.order.sub_orders) and sub.order.status != "paid":
        sub.order.status, sub.order.cancelled_at = "cancelled", utcnow()
    commit_catalog_change(product_ids_of_variants(touched))
    return sub


def cancel_by_shopper(order_id: int, user_id: int | None, reason: str) -> Order:
    """A shopper cancels an order no producer has confirmed yet and that was not
    paid by card (paid orders go through a refund)."""
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None or (user_id is not None and order.user_id != user_id):
        raise NotFound(_l("Không tìm thấy đơn hàng."))
    if order.status not in ("placed", "awaiting_payment"):
        raise OrderStateError(_l("Đơn hàng này không thể tự huỷ; hãy liên hệ để được hoàn tiền."))
    if any(s.status != "pending" for s in order.sub_orders):
        raise OrderStateError(_l("Đơn đã được nhà sản xuất xác nhận, không thể tự huỷ."))
    reason = reason.strip() or SHOPPER_REASON
    touched = _cancel(order, reason, utcnow())
    for sub in order.sub_orders:
        notify_cancelled(sub, reason)
    commit_catalog_change(product_ids_of_variants(touched))
    return order


# --- cancelling part of a sub-order ----------------------------------------------


def cancelled_amount(line: OrderLine, cancelled_quantity: int | None = None) -> int:
    """The share of a line's total that `cancelled_quantity` of its units (default:
    those cancelled so far) account for, discount included, in whole đồng. All of
    them make the whole line total, so shares never add up to more than was paid."""
    units = line.cancelled_quantity if cancelled_quantity is None else cancelled_quantity
    return line.line_total * units // line.quantity


def check_line_cancellation(sub: SubOrder, wanted: dict[int, int]) -> None:
    if sub.status not in ("pending", "confirmed"):
        raise OrderStateError(_l("Chỉ huỷ được phần đơn chưa giao cho vận chuyển."))
    if sub.order.status == "awaiting_payment":
        raise OrderStateError(_l("Đơn hàng chưa được thanh toán."))
    if sub.order.status == "cancelled":
        raise OrderStateError(_l("Đơn hàng đã bị huỷ."))
    lines = {line.id: line for line in sub.lines}
    for line_id, quantity in wanted.items():
        line = lines.get(line_id)
        if line is None:
            raise NotFound(_l("Dòng hàng không thuộc phần đơn này."))
        left = line.quantity - line.cancelled_quantity
        if quantity > left:
            raise ShopError(
                _l(
                    "%(product)s (%(variant)s): chỉ còn %(n)s để huỷ.",
                    product=line.product_name,
                    variant=line.variant_label,
                    n=left,
                ),
                code="too_many_to_cancel",
            )


# --- bank transfers (VietQR) -------------------------------------------------------


def count_transfer(order: Order, amount: int, note: str) -> int:
    """Count a bank transfer towards an order awaiting payment (no commit; the
    caller holds the order's row lock). Returns what is still due after it. A
    transfer that leaves some due keeps the stock held for another `vietqr`
    hold from now, so the shopper has time to send the rest."""
    order.amount_received += amount
    due = max(0, order.total - order.amount_received)
    if due:
        order.events.append(OrderEvent(kind="partly_paid", note=f"{amount} vnd, {due} vnd due: {note}"[:500]))
    return due


def extend_hold(order: Order, until: datetime) -> None:
    """Hold the order's stock at least until `until` (no commit)."""
    current = order.reserved_until
    if current is not None and current.tzinfo is None:
        current = current.replace(tzinfo=until.tzinfo)
    if current is None or current < until:
        order.reserved_until = until


def revive_lapsed(order_id: int, hold_until: datetime) -> bool:
    """Bring back an order cancelled because its hold ran out, if every unit it
    held is still in stock (no commit; the caller commits, and its catalog change
    is noted). Takes the stock and the promotional quotas again through
    shop.orders.stock, in its fixed order; if a row cannot give them, gives back
    what was taken before it and returns False. The voucher use comes back with
    it: the shopper paid that price."""
    order = db.session.scalars(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if order is None or order.status != "cancelled" or order.cancel_reason != LAPSED_REASON:
        return False
    if any(s.status != "cancelled" or s.cancel_reason != LAPSED_REASON for s in order.sub_orders):
        return False
    holds = _held(list(order.sub_orders))
    try:
        touched = stock.take(holds).variant_ids
    except stock.NotEnoughStock as err:
        # Rows are taken in variant-id order: those before the one that failed were taken.
        stock.give_back([stock.Hold(h.variant_id, h.quantity) for h in holds if (h.variant_id or 0) < err.variant_id])
        return False
    except stock.QuotaSoldOut as err:
        stock.give_back([stock.Hold(h.variant_id, h.quantity) for h in holds])
        taken_quotas = [h for h in holds if (h.enrolment_id or 0) < err.enrolment_id]
        stock.give_back([stock.Hold(None, 0, h.enrolment_id, h.promo_units) for h in taken_quotas])
        return False
    for sub in order.sub_orders:
        sub.status, sub.cancelled_at, sub.cancel_reason = "pending", None, ""
    order.status, order.cancelled_at, order.cancel_reason = "awaiting_payment", None, ""
    order.reserved_until = hold_until
    vouchers.take_back(order.id)
    order.events.append(OrderEvent(kind="revived", note="bank transfer arrived after the hold lapsed"))
    record_variant_changes(touched)
    note_stock_change(db.session, product_ids_of_variants(touched))
    return True


def claim_guest_orders(user_id: int, email: str) -> int:
    """Give the account with this (verified) address the orders placed with it as a
    guest; returns how many. Order addresses are stored lower-cased, as accounts' are."""
    moved = rowcount(
        db.session.execute(update(Order).where(Order.user_id.is_(None), Order.email == email).values(user_id=user_id))
    )
    db.session.commit()
    return moved
