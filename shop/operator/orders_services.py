"""The operators' view of every order, and their actions on it: cancel one
producer's part (its card payment refunded first), refund an amount or a whole
part, cancel a whole unpaid order. Each action needs a reason and is audited.

Refunds and part cancellations go through shop.payments, which talks to Stripe
and so commits in steps (the money is reserved before Stripe is asked). Their
audit entry is therefore written once the action has gone through, in its own
commit: an entry never claims a refund Stripe refused."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from shop.audit.models import AuditEntry
from shop.audit.services import record
from shop.cancellations import services as cancellations
from shop.catalog.models import Variant
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.services import notify_cancelled
from shop.operator.inputs import InputError
from shop.orders import services as orders
from shop.orders.csv_export import ExportRow
from shop.orders.models import ORDER_STATUSES, PAYMENT_METHODS, SUB_ORDER_STATUSES, Order, OrderLine, SubOrder
from shop.paging import Page, counted, page_count
from shop.payments import refund_services
from shop.payments.models import Payment, Refund
from shop.portal.order_queries import vn_day_bounds
from shop.producers.models import Producer

PER_PAGE = 30


def _reason(raw: str | None) -> str:
    reason = (raw or "").strip()
    if not reason:
        raise InputError(
            _("Nhập lý do: lý do được gửi cho người mua và ghi vào nhật ký."), field="reason", code="missing_reason"
        )
    return reason[:1000]


# --- search ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderQuery:
    q: str = ""  # order number, e-mail, phone or recipient
    status: str | None = None  # an ORDER_STATUSES value
    sub_status: str | None = None  # orders with a part in this state
    payment_method: str | None = None
    producer_id: int | None = None
    start: date | None = None  # Vietnam dates, inclusive
    end: date | None = None
    min_total: int | None = None
    max_total: int | None = None
    page: int = 1


def check_query(query: OrderQuery) -> None:
    """Refuse filters that contradict each other (the view has parsed each one)."""
    if query.start and query.end and query.start > query.end:
        raise InputError(_("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."), field="to", code="bad_date")
    if query.min_total is not None and query.max_total is not None and query.min_total > query.max_total:
        raise InputError(_("Số tiền tối thiểu phải nhỏ hơn hoặc bằng tối đa."), field="max", code="bad_amount")


def _conditions(query: OrderQuery) -> list:
    conds = []
    text = (query.q or "").strip()
    if text:
        like = f"%{text.lower()}%"
        options: list[ColumnElement[bool]] = [
            func.lower(Order.number).like(like),
            func.lower(Order.email).like(like),
            func.lower(Order.recipient).like(like),
        ]
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 4:
            if digits.startswith("84"):
                digits = "0" + digits[2:]
            options.append(Order.phone.contains(digits))
        conds.append(or_(*options))
    if query.status in ORDER_STATUSES:
        conds.append(Order.status == query.status)
    if query.payment_method in PAYMENT_METHODS:
        conds.append(Order.payment_method == query.payment_method)
    if query.sub_status in SUB_ORDER_STATUSES or query.producer_id is not None:
        # An alias: the export joins SubOrder itself, which must not be correlated away.
        part = aliased(SubOrder)
        where = [part.order_id == Order.id]
        if query.sub_status in SUB_ORDER_STATUSES:
            where.append(part.status == query.sub_status)
        if query.producer_id is not None:
            where.append(part.producer_id == query.producer_id)
        conds.append(exists().where(*where))
    since, until = vn_day_bounds(query.start, query.end)
    if since is not None:
        conds.append(Order.created_at >= since)
    if until is not None:
        conds.append(Order.created_at < until)
    if query.min_total is not None:
        conds.append(Order.total >= query.min_total)
    if query.max_total is not None:
        conds.append(Order.total <= query.max_total)
    return conds


def search_orders(query: OrderQuery, per_page: int = PER_PAGE) -> Page[Order]:
    """One page of the orders matching the filters, newest first."""
    check_query(query)
    conds = _conditions(query)
    total = db.session.scalar(select(func.count(Order.id)).where(*conds)) or 0
    page = min(max(query.page, 1), page_count(total, per_page))
    items = list(
        db.session.scalars(
            select(Order)
            .where(*conds)
            .options(selectinload(Order.sub_orders).selectinload(SubOrder.producer))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return counted(items, page, total, per_page)


def export_rows(query: OrderQuery) -> Iterator[ExportRow]:
    """Every line of the matching orders, newest order first, read in batches.
    Filtered by a producer, only that producer's lines."""
    check_query(query)
    stmt = (
        select(OrderLine, SubOrder, Order, Producer.name)
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .join(Order, Order.id == SubOrder.order_id)
        .join(Producer, Producer.id == SubOrder.producer_id)
        .where(*_conditions(query))
        .order_by(Order.created_at.desc(), Order.id.desc(), SubOrder.id, OrderLine.id)
        .execution_options(yield_per=500)
    )
    if query.producer_id is not None:
        stmt = stmt.where(SubOrder.producer_id == query.producer_id)
    last_order = last_sub = None
    for line, sub, order, _name in db.session.execute(stmt):
        yield ExportRow(order, sub, line, first_of_sub=sub.id != last_sub, first_of_order=order.id != last_order)
        last_order, last_sub = order.id, sub.id


def producer_choices() -> list[tuple[int, str]]:
    """(id, name) of producers with at least one order, by name."""
    return list(
        db.session.execute(
            select(Producer.id, Producer.name)
            .where(exists().where(SubOrder.producer_id == Producer.id))
            .order_by(Producer.name, Producer.id)
        ).tuples()
    )


# --- one order ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    payments: list[Payment]
    refunds: dict[int, list[Refund]] = field(default_factory=dict)  # by sub-order id
    audit: list[AuditEntry] = field(default_factory=list)

    @property
    def paid_by_card(self) -> bool:
        return self.order.payment_method == "card" and self.order.status == "paid"

    @property
    def cancellable(self) -> bool:
        """Whether the whole order may be cancelled here (not paid, nothing shipped)."""
        return self.order.status in ("awaiting_payment", "placed") and all(
            s.status in ("pending", "confirmed", "cancelled") for s in self.order.sub_orders
        )


def order_detail(order_id: int) -> OrderDetail:
    """An order with its parts, lines, payments, refunds, events and audit trail."""
    order = db.session.scalars(
        select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.sub_orders).selectinload(SubOrder.lines),
            selectinload(Order.sub_orders).selectinload(SubOrder.producer),
            selectinload(Order.events),
            selectinload(Order.province),
        )
    ).first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    paid = list(
        db.session.scalars(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status.not_in(("creating", "abandoned")))
            .order_by(Payment.id)
        )
    )
    refunds: dict[int, list[Refund]] = {}
    for row in db.session.scalars(
        select(Refund)
        .join(SubOrder, SubOrder.id == Refund.sub_order_id)
        .where(SubOrder.order_id == order.id)
        .order_by(Refund.id)
    ):
        refunds.setdefault(row.sub_order_id, []).append(row)
    sub_ids = [s.id for s in order.sub_orders]
    audit = list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    (AuditEntry.target_type == "order") & (AuditEntry.target_id == order.id),
                    (AuditEntry.target_type == "sub_order") & AuditEntry.target_id.in_(sub_ids or [0]),
                )
            )
            .options(selectinload(AuditEntry.actor))
            .order_by(AuditEntry.id)
        )
    )
    return OrderDetail(order, paid, refunds, audit)


def _sub(order_id: int, sub_order_id: int) -> SubOrder:
    sub = db.session.scalars(select(SubOrder).where(SubOrder.id == sub_order_id, SubOrder.order_id == order_id)).first()
    if sub is None:
        raise NotFound(_("Không tìm thấy phần đơn này."))
    return sub


def _state(sub: SubOrder) -> dict:
    return {
        "status": sub.status,
        "refunded_amount": sub.refunded_amount,
        "order_status": sub.order.status,
    }


def _fresh_state(sub_id: int) -> dict:
    db.session.expire_all()
    return _state(db.session.get_one(SubOrder, sub_id))


# --- actions --------------------------------------------------------------------------------------


def cancel_sub_order(actor_id: int, order_id: int, sub_order_id: int, reason: str) -> None:
    """Cancel one producer's part before it ships; a card payment for it is
    refunded first, so a refused refund cancels nothing. The buyer is e-mailed."""
    reason = _reason(reason)
    sub = _sub(order_id, sub_order_id)
    if sub.order.status == "awaiting_payment":
        raise orders.OrderStateError(
            _("Đơn đang chờ thanh toán thẻ: không huỷ từng phần được, hãy huỷ cả đơn."), code="awaiting_payment"
        )
    if sub.status == "cancelled":
        raise orders.OrderStateError(_("Phần đơn này đã bị huỷ."), code="already_cancelled")
    before = _state(sub)
    cancellations.cancel_and_refund(sub.id, reason)  # commits
    record(
        actor_id,
        "sub_order.cancel",
        "sub_order",
        sub_order_id,
        label=sub.order.number,
        reason=reason,
        before=before,
        after=_fresh_state(sub_order_id),
    )
    db.session.commit()


def refund_sub_order(actor_id: int, order_id: int, sub_order_id: int, amount: int | None, reason: str) -> int:
    """Give back `amount` đồng of a card-paid part (None: all that is left of it)
    to the buyer's card. Returns the amount refunded."""
    reason = _reason(reason)
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0):
        raise InputError(_("Số tiền phải lớn hơn 0."), field="amount", code="bad_amount")
    sub = _sub(order_id, sub_order_id)
    number = sub.order.number
    before = _state(sub)
    result = refund_services.refund(sub.id, amount=amount, reason=reason)  # commits
    record(
        actor_id,
        "sub_order.refund",
        "sub_order",
        sub_order_id,
        label=number,
        reason=reason,
        before=before,
        after={**_fresh_state(sub_order_id), "refund": result.amount},
    )
    db.session.commit()
    return result.amount


def cancel_order(actor_id: int, order_id: int, reason: str) -> None:
    """Cancel a whole order nobody has paid for yet (awaiting card payment, or COD)
    while none of its parts has shipped: its stock and any voucher are released and
    the buyer is e-mailed. A card-paid order is cancelled part by part, with refunds."""
    reason = _reason(reason)
    order = db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()).first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    if order.status == "cancelled":
        raise orders.OrderStateError(_("Đơn hàng đã bị huỷ."), code="already_cancelled")
    if order.status == "paid":
        raise orders.OrderStateError(
            _("Đơn đã thanh toán thẻ: hãy huỷ từng phần đơn để tiền được hoàn vào thẻ."), code="paid"
        )
    if any(s.status in ("shipped", "delivered") for s in order.sub_orders):
        raise orders.OrderStateError(
            _("Không thể huỷ cả đơn: có phần đơn đã giao cho vận chuyển. Hãy huỷ từng phần chưa giao."),
            code="shipped",
        )
    before = {"status": order.status, "sub_orders": {str(s.id): s.status for s in order.sub_orders}}
    active = [s for s in order.sub_orders if s.status != "cancelled"]
    # The same cancellation the order's own services apply (stock, quotas, voucher).
    touched = orders._cancel(order, reason, utcnow())
    for sub in active:
        notify_cancelled(sub, reason)
    record(
        actor_id,
        "order.cancel",
        "order",
        order.id,
        label=order.number,
        reason=reason,
        before=before,
        after={"status": order.status, "sub_orders": {str(s.id): s.status for s in order.sub_orders}},
    )
    products = select(Variant.product_id).where(Variant.id.in_(touched)).distinct()
    commit_catalog_change(list(db.session.scalars(products)) if touched else [])


def refund_room(detail: OrderDetail, sub: SubOrder) -> int:
    """What may still be refunded on a part: its total less its refunds, within the payment."""
    if not detail.paid_by_card:
        return 0
    payment = next((p for p in detail.payments if p.status == "succeeded"), None)
    if payment is None:
        return 0
    return max(0, min(sub.total - sub.refunded_amount, payment.amount - payment.refunded_amount))
