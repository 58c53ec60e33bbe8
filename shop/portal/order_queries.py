"""Reads behind the portal's order pages and dashboard, each scoped to the
producers the request may act for (`producer_ids`): another producer's sub-order
is simply not found."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from shop.catalog.models import Product, Variant
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import VN_TZ, today_vn
from shop.orders.csv_export import ExportRow
from shop.orders.models import Order, OrderEvent, OrderLine, SubOrder
from shop.orders.services import cancelled_amount
from shop.paging import Page, peek

# The tabs of the order list, in the order a sub-order moves through them.
TABS = ("pending", "confirmed", "shipped", "delivered", "cancelled")
LOW_STOCK = 5
PER_PAGE = 20

# A card order the shopper has not paid yet: its parts are shown but cannot be acted on.
_UNPAID = Order.status == "awaiting_payment"
# A card checkout abandoned before payment: the producer never had an order to act on.
_ABANDONED = and_(Order.payment_method.in_(("card", "vietqr")), Order.paid_at.is_(None), Order.status == "cancelled")


def payment_state(order: Order) -> str:
    """The payment column: "cod", "card_paid", "transfer_paid" or "unpaid" (not paid, or cancelled before it was)."""
    if order.payment_method == "cod":
        return "cod"
    if order.status != "paid":
        return "unpaid"
    return "transfer_paid" if order.payment_method == "vietqr" else "card_paid"


def is_actionable(sub: SubOrder) -> bool:
    """Whether the producer may move this part on: not while the card payment is outstanding."""
    return sub.order.status not in ("awaiting_payment", "cancelled")


def cod_to_collect(sub: SubOrder) -> int:
    """What the carrier collects on delivery for a COD part: its total less what was cancelled."""
    if sub.order.payment_method != "cod" or sub.status == "cancelled":
        return 0
    return sub.total - sum(cancelled_amount(line) for line in sub.lines)


def _scoped(producer_ids: list[int]):
    """This producer's sub-orders, less abandoned card checkouts (needs the join to Order)."""
    return and_(SubOrder.producer_id.in_(producer_ids), not_(_ABANDONED))


# --- lists ------------------------------------------------------------------------


def status_counts(producer_ids: list[int]) -> dict[str, int]:
    """Sub-orders per status. "pending" counts only the new orders the producer can
    confirm (a card order still awaiting payment is not one yet)."""
    if not producer_ids:
        return dict.fromkeys(TABS, 0)
    rows = db.session.execute(
        select(SubOrder.status, func.count(SubOrder.id))
        .join(Order, Order.id == SubOrder.order_id)
        .where(_scoped(producer_ids), not_(and_(SubOrder.status == "pending", _UNPAID)))
        .group_by(SubOrder.status)
    ).all()
    counts = dict.fromkeys(TABS, 0)
    counts.update({status: n for status, n in rows})
    return counts


def new_order_count(producer_ids: list[int]) -> int:
    """New sub-orders waiting for the producer's confirmation (the portal nav's badge)."""
    if not producer_ids:
        return 0
    return db.session.execute(
        select(func.count(SubOrder.id))
        .join(Order, Order.id == SubOrder.order_id)
        .where(_scoped(producer_ids), SubOrder.status == "pending", Order.status.in_(("placed", "paid")))
    ).scalar_one()


def sub_orders(producer_ids: list[int], status: str | None, page: int = 1, per_page: int = PER_PAGE) -> Page[SubOrder]:
    """One page of the producer's sub-orders, newest first; in the "pending" tab the
    ones still awaiting a card payment come after those that can be confirmed."""
    stmt = (
        select(SubOrder)
        .join(SubOrder.order)
        .where(_scoped(producer_ids))
        .options(contains_eager(SubOrder.order).selectinload(Order.province), selectinload(SubOrder.lines))
    )
    if status:
        stmt = stmt.where(SubOrder.status == status)
    stmt = stmt.order_by(case((_UNPAID, 1), else_=0), Order.created_at.desc(), SubOrder.id.desc())
    return peek(stmt, page, per_page)


def sub_order(sub_order_id: int, producer_ids: list[int]) -> SubOrder:
    """One of the producer's sub-orders with its order, lines and producer; NotFound otherwise."""
    sub = db.session.scalars(
        select(SubOrder)
        .where(SubOrder.id == sub_order_id, SubOrder.producer_id.in_(producer_ids))
        .options(selectinload(SubOrder.lines), selectinload(SubOrder.order).selectinload(Order.province))
    ).first()
    if sub is None:
        raise NotFound(_l("Không tìm thấy đơn hàng."))
    return sub


def timeline(sub: SubOrder) -> list[OrderEvent]:
    """What happened to this part, oldest first: its own events and the order's
    (payment), not those of other producers' parts."""
    return list(
        db.session.scalars(
            select(OrderEvent)
            .where(
                OrderEvent.order_id == sub.order_id,
                or_(OrderEvent.sub_order_id == sub.id, OrderEvent.sub_order_id.is_(None)),
            )
            .order_by(OrderEvent.created_at, OrderEvent.id)
        )
    )


# --- CSV export -------------------------------------------------------------------


def vn_day_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC instants for "from the start of `start` to the end of `end`", Vietnam days."""

    def at_midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=VN_TZ).astimezone(UTC)

    return (at_midnight(start) if start else None, at_midnight(end + timedelta(days=1)) if end else None)


def export_rows(
    producer_ids: list[int], status: str | None = None, start: date | None = None, end: date | None = None
) -> Iterator[ExportRow]:
    """One row per order line of the producer's sub-orders placed between the
    Vietnam dates `start` and `end` (inclusive), oldest first, read in batches."""
    since, until = vn_day_bounds(start, end)
    stmt = (
        select(OrderLine, SubOrder, Order)
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .join(Order, Order.id == SubOrder.order_id)
        .where(_scoped(producer_ids))
        .order_by(Order.created_at, SubOrder.id, OrderLine.id)
        .execution_options(yield_per=500)
    )
    if status:
        stmt = stmt.where(SubOrder.status == status)
    if since is not None:
        stmt = stmt.where(Order.created_at >= since)
    if until is not None:
        stmt = stmt.where(Order.created_at < until)
    previous = None
    for line, sub, order in db.session.execute(stmt):
        yield ExportRow(order, sub, line, first_of_sub=sub.id != previous)
        previous = sub.id


# --- dashboard --------------------------------------------------------------------


@dataclass(frozen=True)
class LowStock:
    product_id: int
    variant_id: int
    product_name: str
    variant_label: str
    sku: str
    stock: int


def low_stock(producer_ids: list[int], threshold: int = LOW_STOCK, limit: int = 20) -> list[LowStock]:
    """The producer's on-sale SKUs with `threshold` or fewer left, emptiest first."""
    if not producer_ids:
        return []
    rows = db.session.execute(
        select(Product.id, Variant.id, Product.name, Variant.label, Variant.sku, Variant.stock)
        .join(Variant, Variant.product_id == Product.id)
        .where(Product.producer_id.in_(producer_ids), Product.status == "published", Variant.stock <= threshold)
        .order_by(Variant.stock, Product.name, Variant.position, Variant.id)
        .limit(limit)
    ).all()
    return [LowStock(*row) for row in rows]


@dataclass(frozen=True)
class DaySales:
    day: date
    amount: int  # đồng
    orders: int


@dataclass(frozen=True)
class SalesSeries:
    days: list[DaySales]  # oldest first, one per day, empty days included

    @property
    def total(self) -> int:
        return sum(d.amount for d in self.days)

    @property
    def orders(self) -> int:
        return sum(d.orders for d in self.days)

    @property
    def best(self) -> DaySales | None:
        best = max(self.days, key=lambda d: (d.amount, d.day), default=None)
        return best if best and best.amount else None


def _vn_day(column):
    """The Vietnam calendar day of a stored UTC instant, in SQL (Vietnam keeps UTC+7 all year)."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", column))
    return func.date(column, "+7 hours")


def daily_sales(producer_ids: list[int], days: int = 30, today: date | None = None) -> SalesSeries:
    """What the producer sold on each of the last `days` Vietnam days (today
    included): its sub-orders' totals less cancelled lines, by the day the order was
    placed, leaving out cancelled parts and orders not paid (or cancelled). One query."""
    today = today or today_vn()
    first = today - timedelta(days=days - 1)
    since, until = vn_day_bounds(first, today)
    totals = {}
    if producer_ids:
        # Same rule as shop.orders.services.cancelled_amount, summed per sub-order.
        cancelled = (
            select(func.coalesce(func.sum(OrderLine.line_total * OrderLine.cancelled_quantity / OrderLine.quantity), 0))
            .where(OrderLine.sub_order_id == SubOrder.id)
            .correlate(SubOrder)
            .scalar_subquery()
        )
        day = _vn_day(Order.created_at).label("day")
        rows = db.session.execute(
            select(day, func.sum(SubOrder.total - cancelled), func.count(SubOrder.id))
            .join(Order, Order.id == SubOrder.order_id)
            .where(
                _scoped(producer_ids),
                SubOrder.status != "cancelled",
                Order.status.in_(("placed", "paid")),
                Order.created_at >= since,
                Order.created_at < until,
            )
            .group_by(day)
        ).all()
        totals = {date.fromisoformat(str(d)[:10]): (int(amount or 0), n) for d, amount, n in rows}
    series = []
    for i in range(days):
        d = first + timedelta(days=i)
        amount, n = totals.get(d, (0, 0))
        series.append(DaySales(d, amount, n))
    return SalesSeries(series)


@dataclass(frozen=True)
class Dashboard:
    new_orders: int
    to_ship: int
    low_stock: list[LowStock]
    sales: SalesSeries


def dashboard(producer_ids: list[int], today: date | None = None) -> Dashboard:
    counts = status_counts(producer_ids)
    return Dashboard(
        counts["pending"], counts["confirmed"], low_stock(producer_ids), daily_sales(producer_ids, today=today)
    )
