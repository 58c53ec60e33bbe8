"""Cancellations that give money back: a producer's part of an order, or some
units of its lines, cancelled before it ships, with the card refund (or the bank
transfer flagged for refund) that goes with it.

This sits above both shop.orders (the order's states and its stock) and
shop.payments (refunds), which therefore never import each other's way back.
"""

from flask_babel import lazy_gettext as _
from sqlalchemy import update

from shop.bank import services as bank
from shop.catalog.services import commit_catalog_change
from shop.database import rowcount
from shop.errors import ShopError
from shop.extensions import db
from shop.orders import services as orders
from shop.orders import stock
from shop.orders.models import OrderEvent, OrderLine, SubOrder
from shop.orders.services import cancelled_amount
from shop.payments import refund_services as refunds


def cancel_and_refund(sub_order_id: int, reason: str, producer_ids: list[int] | None = None) -> SubOrder:
    """Cancel one producer's part of an order and, if it was paid by card, give
    its money back. The refund goes first: if Stripe refuses, nothing changes."""
    if not (reason or "").strip():
        raise ShopError(_("Cho biết lý do huỷ."), code="missing_reason")
    sub = refunds.find_sub_order(sub_order_id, producer_ids)
    if sub.status not in ("pending", "confirmed"):
        raise orders.OrderStateError(_("Chỉ huỷ được phần đơn chưa giao cho vận chuyển."))
    order = sub.order
    if order.payment_method == "card" and order.status == "paid" and sub.total > sub.refunded_amount:
        refunds.refund(sub_order_id, reason=reason, producer_ids=producer_ids)
    if order.payment_method == "vietqr" and order.status == "paid":
        # No API sends a bank transfer back: the operator refunds it from /ops/chuyen-khoan.
        bank.flag_refund_for_cancellation(order.id, sub.total - sub.refunded_amount, reason.strip())
    return orders.cancel_sub_order(sub_order_id, reason, producer_ids)


def _refund_cancelled(sub: SubOrder, wanted: dict[int, int], reason: str, producer_ids) -> None:
    """Give back what the cancelled units were paid (the caller checked the order is paid by card)."""
    shares = {}
    for line in sub.lines:
        if line.id in wanted:
            value = cancelled_amount(line, line.cancelled_quantity + wanted[line.id]) - cancelled_amount(line)
            shares[line.id] = max(0, min(value, line.line_total - line.refunded_amount))
    amount = sum(shares.values())
    if amount <= 0:
        return
    whole_lines = all(
        line.cancelled_quantity == 0 and wanted[line.id] == line.quantity for line in sub.lines if line.id in wanted
    )
    if whole_lines:  # refunds by line keep each line's refunded amount
        refunds.refund(sub.id, line_ids=sorted(shares), reason=reason, producer_ids=producer_ids)
    else:
        refunds.refund(sub.id, amount=amount, reason=reason, producer_ids=producer_ids)


def cancel_lines(
    sub_order_id: int, line_quantities: dict[int, int], reason: str, producer_ids: list[int] | None = None
) -> SubOrder:
    """The producer cancels some units of some lines of its part before it ships
    (`line_quantities`: order line id -> units to cancel now). Their stock returns;
    the sub-order keeps its totals as placed and each line counts its
    `cancelled_quantity`. A card-paid order gets the cancelled share refunded
    first, so a refused refund changes nothing. Cancelling every unit left
    cancels the whole part, shipping fee included."""
    reason = (reason or "").strip()
    if not reason:
        raise ShopError(_("Cho biết lý do huỷ."), code="missing_reason")
    try:
        wanted = {int(line_id): int(quantity) for line_id, quantity in line_quantities.items()}
    except (TypeError, ValueError):
        raise ShopError(_("Số lượng huỷ không hợp lệ."), code="bad_quantity") from None
    if any(quantity < 0 for quantity in wanted.values()):
        raise ShopError(_("Số lượng huỷ không hợp lệ."), code="bad_quantity")
    wanted = {line_id: quantity for line_id, quantity in wanted.items() if quantity}
    if not wanted:
        raise ShopError(_("Nhập số lượng cần huỷ ở ít nhất một dòng."), code="nothing_to_cancel")
    sub = orders.lock_sub_order(sub_order_id, producer_ids)
    orders.check_line_cancellation(sub, wanted)
    if all(line.quantity - line.cancelled_quantity == wanted.get(line.id, 0) for line in sub.lines):
        return cancel_and_refund(sub_order_id, reason, producer_ids)
    if sub.order.payment_method == "card" and sub.order.status == "paid":
        _refund_cancelled(sub, wanted, reason, producer_ids)  # commits
        # Read again after the refund's commits. Should the part have shipped in the
        # meantime, the refund stands and the cancellation is refused.
        sub = orders.lock_sub_order(sub_order_id, producer_ids)
        orders.check_line_cancellation(sub, wanted)
    elif sub.order.payment_method == "vietqr" and sub.order.status == "paid":
        share = sum(
            cancelled_amount(line, line.cancelled_quantity + wanted[line.id]) - cancelled_amount(line)
            for line in sub.lines
            if line.id in wanted
        )
        refunds.flag_transfer_refund(sub.order_id, share, reason)  # no commit: with the cancellation
    lines = {line.id: line for line in sub.lines}
    notes = []
    for line_id in sorted(wanted):
        line, quantity = lines[line_id], wanted[line_id]
        changed = rowcount(
            db.session.execute(
                update(OrderLine)
                .where(OrderLine.id == line_id, OrderLine.cancelled_quantity + quantity <= OrderLine.quantity)
                .values(cancelled_quantity=OrderLine.cancelled_quantity + quantity)
                .execution_options(synchronize_session=False)
            )
        )
        if changed != 1:  # another request cancelled these units first
            db.session.rollback()
            raise orders.OrderStateError(_("Dòng hàng vừa được huỷ ở nơi khác. Vui lòng tải lại trang."))
        notes.append(f"{line.sku} ×{quantity}")
    # Stock rows in the fixed order of shop.orders.stock, as everywhere else.
    touched = stock.give_back([stock.Hold(lines[i].variant_id, wanted[i]) for i in wanted])
    sub.order.events.append(
        OrderEvent(sub_order_id=sub.id, kind="lines_cancelled", note=f"{', '.join(notes)}: {reason}"[:500])
    )
    commit_catalog_change(orders.product_ids_of_variants(touched))
    return sub
