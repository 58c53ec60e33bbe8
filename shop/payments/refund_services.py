"""Refunds of card payments through Stripe, never more than was paid.

A refund first reserves its amount against the bounds (conditional UPDATEs on
the payment, the sub-order and its lines, committed before Stripe is asked), so
two refunds at once cannot give back more than was paid; if Stripe refuses, the
reservation is released. The refunded amounts of payments, sub-orders and order
lines change only here.
"""

import logging
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shop.bank import services as bank
from shop.database import rowcount
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import vnd
from shop.ledger import services as ledger
from shop.notifications.services import notify_refunded
from shop.orders.models import Order, OrderEvent, OrderLine, SubOrder
from shop.payments import gateway
from shop.payments.errors import GatewayUnavailable, RefundRefused
from shop.payments.gateway import GatewayError
from shop.payments.models import Payment, Refund

log = logging.getLogger(__name__)


def _money(amount: int) -> str:
    try:
        locale = str(get_locale() or "vi")
    except RuntimeError:  # outside a request
        locale = "vi"
    return vnd(amount, locale)


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    stripe_refund_id: str
    amount: int


def _reserve(
    payment_id: int,
    amount: int,
    *,
    payment_before: int | None = None,
    sub_id: int | None = None,
    sub_before: int | None = None,
    line_amounts: dict[int, int] | None = None,
) -> bool:
    """Count `amount` as refunded before asking Stripe (commits), only if it stays
    within what was paid: conditional UPDATEs, so two refunds at once cannot both
    pass. `*_before` makes the update a compare-and-set, so that the refund's
    idempotency key (built from it) names exactly one refund."""
    stmt = update(Payment).where(Payment.id == payment_id, Payment.refunded_amount + amount <= Payment.amount)
    if payment_before is not None:
        stmt = stmt.where(Payment.refunded_amount == payment_before)
    ok = _one(stmt.values(refunded_amount=Payment.refunded_amount + amount))
    if ok and sub_id is not None:
        stmt = update(SubOrder).where(SubOrder.id == sub_id, SubOrder.refunded_amount + amount <= SubOrder.total)
        if sub_before is not None:
            stmt = stmt.where(SubOrder.refunded_amount == sub_before)
        ok = _one(stmt.values(refunded_amount=SubOrder.refunded_amount + amount))
    for line_id, part in (line_amounts or {}).items():
        ok = ok and _one(
            update(OrderLine)
            .where(OrderLine.id == line_id, OrderLine.refunded_amount + part <= OrderLine.line_total)
            .values(refunded_amount=OrderLine.refunded_amount + part)
        )
    if not ok:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _one(stmt) -> bool:
    return rowcount(db.session.execute(stmt.execution_options(synchronize_session=False))) == 1


def _release(
    payment_id: int, amount: int, *, sub_id: int | None = None, line_amounts: dict[int, int] | None = None
) -> None:
    """Undo a reservation after Stripe refused the refund (commits)."""
    db.session.rollback()
    _one(update(Payment).where(Payment.id == payment_id).values(refunded_amount=Payment.refunded_amount - amount))
    if sub_id is not None:
        _one(update(SubOrder).where(SubOrder.id == sub_id).values(refunded_amount=SubOrder.refunded_amount - amount))
    for line_id, part in (line_amounts or {}).items():
        _one(update(OrderLine).where(OrderLine.id == line_id).values(refunded_amount=OrderLine.refunded_amount - part))
    db.session.commit()


def _send_refund(
    payment_id: int,
    intent_id: str,
    order_id: int,
    sub_id: int,
    amount: int,
    key: str,
    reason: str,
    *,
    bump_sub: bool,
    line_amounts: dict[int, int] | None = None,
) -> RefundResult:
    """Stripe, then our records; the amount must already be reserved."""
    try:
        stripe_refund_id = gateway.create_refund(intent_id, amount, key, metadata={"sub_order_id": str(sub_id)})
    except GatewayError as err:
        _release(payment_id, amount, sub_id=sub_id if bump_sub else None, line_amounts=line_amounts)
        raise GatewayUnavailable(err.message, code=err.code) from err
    row = Refund(
        payment_id=payment_id,
        sub_order_id=sub_id,
        amount=amount,
        stripe_refund_id=stripe_refund_id,
        reason=reason[:1000],
    )
    db.session.add(row)
    db.session.add(
        OrderEvent(order_id=order_id, sub_order_id=sub_id, kind="refunded", note=f"{amount} vnd: {reason}"[:500])
    )
    db.session.flush()
    notify_refunded(db.session.get_one(SubOrder, sub_id), row.id, amount)
    ledger.sync_reversals(sub_id)  # a delivered part's earnings are reversed with the refund
    try:
        db.session.commit()
    except IntegrityError:  # Stripe replayed a refund we already recorded
        db.session.rollback()
        row = db.session.scalars(select(Refund).where(Refund.stripe_refund_id == stripe_refund_id)).one()
    return RefundResult(row.id, row.stripe_refund_id, row.amount)


def refund_in_full(payment: Payment) -> bool:
    """Give back everything left of a payment we must not keep (a late payment
    for a cancelled order, or a second payment). Spread over the sub-orders so
    each Refund row names one; a cancelled order's sub-orders count it as refunded.
    Returns whether it is all given back; if Stripe fails, it stays "refund_due"
    and the reconciliation job tries again."""
    order = payment.order
    cancelled_order = order.status == "cancelled"
    reason = "order cancelled before the payment arrived" if cancelled_order else "duplicate payment"
    for sub in sorted(order.sub_orders, key=lambda s: s.id):
        db.session.refresh(payment)
        db.session.refresh(sub)
        left = payment.amount - payment.refunded_amount
        room = sub.total - sub.refunded_amount if cancelled_order else sub.total
        amount = min(left, room)
        if amount <= 0:
            continue
        before = payment.refunded_amount
        if not _reserve(payment.id, amount, payment_before=before, sub_id=sub.id if cancelled_order else None):
            return False  # someone else is refunding it right now
        try:
            _send_refund(
                payment.id,
                payment.intent_id,
                order.id,
                sub.id,
                amount,
                f"auto-refund:{payment.intent_id}:{before}:{amount}",
                reason,
                bump_sub=cancelled_order,
            )
        except GatewayUnavailable:
            log.warning("automatic refund of %s failed; will retry", payment.intent_id, exc_info=True)
            return False
    db.session.refresh(payment)
    if payment.refunded_amount >= payment.amount:
        payment.status = "auto_refunded"
        db.session.commit()
        return True
    log.error("payment %s could not be spread over its sub-orders", payment.intent_id)
    return False


def find_sub_order(sub_order_id: int, producer_ids: list[int] | None) -> SubOrder:
    """The sub-order (no lock) if it belongs to one of `producer_ids` (any producer when None)."""
    stmt = select(SubOrder).where(SubOrder.id == sub_order_id)
    if producer_ids is not None:
        stmt = stmt.where(SubOrder.producer_id.in_(producer_ids))
    sub = db.session.scalars(stmt).first()
    if sub is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return sub


def _paying_payment(order: Order) -> Payment:
    if order.payment_method == "cod":
        raise RefundRefused(
            _(
                "Đơn thanh toán khi nhận hàng (COD) không có giao dịch thẻ để hoàn tiền; "
                "hãy hoàn tiền trực tiếp cho người mua."
            ),
            code="cod_not_refundable",
        )
    payment = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded").order_by(Payment.id)
    ).first()
    if order.status != "paid" or payment is None:
        raise RefundRefused(_("Đơn hàng chưa được thanh toán bằng thẻ nên chưa có gì để hoàn."), code="not_paid")
    return payment


def refund(
    sub_order_id: int,
    amount: int | None = None,
    line_ids: list[int] | None = None,
    *,
    reason: str,
    producer_ids: list[int] | None = None,
) -> RefundResult:
    """Refund part of a card payment to the shopper's card, through Stripe.

    Refunds the whole sub-order (its total less what was already refunded), or
    the given lines (their totals less what was refunded on them), or `amount`
    đồng of the sub-order. Never more than was paid: the sub-order's refunds stay
    within its total and the payment's within its amount. `producer_ids` limits
    which producers' sub-orders may be refunded. COD orders are refused."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused(_("Cho biết lý do hoàn tiền."), code="missing_reason")
    if line_ids is not None and not line_ids:
        raise RefundRefused(_("Chọn ít nhất một dòng hàng cần hoàn."), code="bad_refund")
    if amount is not None and line_ids:
        raise RefundRefused(_("Chọn số tiền hoặc các dòng hàng cần hoàn, không chọn cả hai."), code="bad_refund")
    sub = find_sub_order(sub_order_id, producer_ids)
    payment = _paying_payment(sub.order)
    line_amounts: dict[int, int] = {}
    if line_ids:
        wanted = set(line_ids)
        lines = [line for line in sub.lines if line.id in wanted]
        if len(lines) != len(wanted):
            raise NotFound(_("Dòng hàng không thuộc phần đơn này."))
        line_amounts = {
            line.id: line.line_total - line.refunded_amount for line in lines if line.line_total > line.refunded_amount
        }
        amount = sum(line_amounts.values())
    elif amount is None:
        amount = sub.total - sub.refunded_amount
        # A whole sub-order counts its lines as refunded too.
        line_amounts = {
            line.id: line.line_total - line.refunded_amount
            for line in sub.lines
            if line.line_total > line.refunded_amount
        }
        if sum(line_amounts.values()) > amount:
            line_amounts = {}
    elif not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RefundRefused(_("Số tiền hoàn phải là số đồng nguyên lớn hơn 0."), code="bad_amount")
    if amount <= 0:
        raise RefundRefused(_("Phần này đã được hoàn tiền đủ."), code="nothing_to_refund")
    room = min(sub.total - sub.refunded_amount, payment.amount - payment.refunded_amount)
    if amount > room:
        raise RefundRefused(
            _(
                "Không thể hoàn %(amount)s: chỉ còn %(room)s có thể hoàn.",
                amount=_money(amount),
                room=_money(max(room, 0)),
            ),
            code="refund_exceeds_paid",
        )
    sub_id, before, payment_id, intent_id, order_id = (
        sub.id,
        sub.refunded_amount,
        payment.id,
        payment.intent_id,
        sub.order_id,
    )
    if not _reserve(payment_id, amount, sub_id=sub_id, sub_before=before, line_amounts=line_amounts):
        raise RefundRefused(
            _("Đơn vừa được hoàn tiền ở nơi khác. Vui lòng tải lại trang và kiểm tra."), code="refund_conflict"
        )
    return _send_refund(
        payment_id,
        intent_id,
        order_id,
        sub_id,
        amount,
        f"refund:{sub_id}:{before}:{amount}",
        reason,
        bump_sub=True,
        line_amounts=line_amounts,
    )


def flag_transfer_refund(order_id: int, amount: int, reason: str) -> int:
    """Cancelled units of an order paid by bank transfer: flag their money for refund (no commit)."""
    return bank.flag_refund_for_cancellation(order_id, amount, reason)
