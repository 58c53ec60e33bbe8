"""Reads for the operators' console: the dashboard's figures, the producers and
certificates queues and a producer's file (the audit log: shop.operator.audit_queries).

Sales figures share one definition (see `counted_sub_orders`): every aggregate is
one GROUP BY over the period, whatever the number of orders."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import selectinload

from shop.accounts.models import ProducerMember, User
from shop.audit.models import AuditEntry
from shop.catalog.models import Category, Product, Variant
from shop.extensions import db
from shop.formatting import VN_TZ, today_vn, utcnow
from shop.ledger.models import LedgerEntry
from shop.orders.models import Order, OrderLine, SubOrder
from shop.paging import Page, counted
from shop.places.models import Province
from shop.producers.models import Certificate, Producer

PERIODS = (7, 30, 90)


DEFAULT_PERIOD = 30


WAITING_HOURS = 24


EXPIRING_DAYS = 60


PER_PAGE = 30


PRODUCER_STATUS_LABELS = {
    "pending": _l("Chờ duyệt"),
    "approved": _l("Đang hoạt động"),
    "rejected": _l("Bị từ chối"),
    "suspended": _l("Tạm ngưng"),
}


LEDGER_KIND_LABELS = {
    "earning": _l("Khoản thu"),
    "shipping": _l("Phí vận chuyển"),
    "reversal": _l("Hoàn tiền"),
    "adjustment": _l("Điều chỉnh"),
    "payout": _l("Đã chi trả"),
}


def vn_day(column):
    """The Vietnam calendar day of a stored UTC instant, in SQL (Vietnam keeps UTC+7 all year)."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", column))
    return func.date(column, "+7 hours")


def vn_midnight(day: date) -> datetime:
    """The UTC instant at which a Vietnam calendar day starts."""
    return datetime.combine(day, time(), tzinfo=VN_TZ).astimezone(UTC)


def _cancelled_by_sub_order():
    """Per sub-order, the part of its lines' totals that was cancelled (the same
    per-line share as `shop.orders.services.cancelled_amount`)."""
    return (
        select(
            OrderLine.sub_order_id.label("sub_order_id"),
            func.sum(OrderLine.line_total * OrderLine.cancelled_quantity / OrderLine.quantity).label("amount"),
        )
        .where(OrderLine.cancelled_quantity > 0)
        .group_by(OrderLine.sub_order_id)
        .subquery()
    )


def counted_sub_orders(since: datetime, until: datetime):
    """GMV, the marketplace's gross sales: the sum over sub-orders of their total
    (goods after promotions and voucher, plus shipping) less their cancelled lines,
    for orders placed in [since, until) — by the time the order was placed — that
    were placed (cash on delivery) or paid (card). Cancelled orders and sub-orders
    and card orders never paid are left out; refunds after delivery are not
    subtracted (they are returns, not lost sales). An order counts once if any of
    its sub-orders counts.

    Returns a select of (sub_order_id, order_id, amount) to use as a subquery."""
    cancelled = _cancelled_by_sub_order()
    amount = (SubOrder.total - func.coalesce(cancelled.c.amount, 0)).label("amount")
    return (
        select(SubOrder.id.label("sub_order_id"), Order.id.label("order_id"), amount)
        .join(Order, Order.id == SubOrder.order_id)
        .outerjoin(cancelled, cancelled.c.sub_order_id == SubOrder.id)
        .where(
            SubOrder.status != "cancelled",
            Order.status.in_(("placed", "paid")),
            Order.created_at >= since,
            Order.created_at < until,
        )
    )


def _line_value():
    """A line's goods value still sold: its total less its cancelled units' share."""
    return OrderLine.line_total - OrderLine.line_total * OrderLine.cancelled_quantity / OrderLine.quantity


@dataclass(frozen=True)
class DayFigure:
    day: date
    gmv: int
    orders: int


@dataclass(frozen=True)
class Slice:
    """One bar of a "by X" chart."""

    key: object
    label: str
    amount: int  # đồng
    count: int  # orders, or units for the line-level charts
    url: str | None = None


@dataclass(frozen=True)
class Waiting:
    sub_order_id: int
    order_id: int
    order_number: str
    producer_id: int
    producer_name: str
    total: int
    placed_at: datetime
    hours: int


@dataclass
class Dashboard:
    days: int
    first: date
    last: date
    gmv: int
    orders: int
    by_day: list[DayFigure]
    by_province: list[Slice]
    by_stars: list[Slice]
    by_group: list[Slice]
    top_producers: list[Slice]
    waiting: list[Waiting]
    waiting_count: int
    pending_applications: int
    pending_certificates: int
    goods_total: int = 0  # line-level value, for the star and group charts

    @property
    def average_order(self) -> int:
        return self.gmv // self.orders if self.orders else 0


def period_days(value: str | int | None) -> int:
    """The period the dashboard covers: one of 7, 30, 90 days (30 if anything else)."""
    try:
        days = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def dashboard(
    days: int = DEFAULT_PERIOD, today: date | None = None, now: datetime | None = None, waiting_limit: int = 20
) -> Dashboard:
    """The console's front page for the last `days` Vietnam days, today included."""
    today = today or today_vn(now)
    first = today - timedelta(days=days - 1)
    since, until = vn_midnight(first), vn_midnight(today + timedelta(days=1))
    counted = counted_sub_orders(since, until).subquery()

    # Per day: GMV and orders (the order's day comes from its placement time).
    day = vn_day(Order.created_at).label("day")
    rows = db.session.execute(
        select(day, func.sum(counted.c.amount), func.count(distinct(counted.c.order_id)))
        .join(Order, Order.id == counted.c.order_id)
        .group_by(day)
    ).all()
    per_day = {date.fromisoformat(str(d)[:10]): (int(amount or 0), n) for d, amount, n in rows}
    by_day = [DayFigure(d, *per_day.get(d, (0, 0))) for d in (first + timedelta(days=i) for i in range(days))]
    gmv, orders = db.session.execute(
        select(func.coalesce(func.sum(counted.c.amount), 0), func.count(distinct(counted.c.order_id)))
    ).one()

    # By the province the order is delivered to (where the shoppers are).
    by_province = [
        Slice(pid, name, int(amount or 0), n)
        for pid, name, amount, n in db.session.execute(
            select(Province.id, Province.name, func.sum(counted.c.amount), func.count(distinct(counted.c.order_id)))
            .select_from(counted)
            .join(Order, Order.id == counted.c.order_id)
            .join(Province, Province.id == Order.province_id)
            .group_by(Province.id, Province.name)
            .order_by(func.sum(counted.c.amount).desc(), Province.name)
        )
    ]

    top_producers = [
        Slice(pid, name, int(amount or 0), n)
        for pid, name, amount, n in db.session.execute(
            select(Producer.id, Producer.name, func.sum(counted.c.amount), func.count(counted.c.sub_order_id))
            .select_from(counted)
            .join(SubOrder, SubOrder.id == counted.c.sub_order_id)
            .join(Producer, Producer.id == SubOrder.producer_id)
            .group_by(Producer.id, Producer.name)
            .order_by(func.sum(counted.c.amount).desc(), Producer.name)
            .limit(10)
        )
    ]

    # Line-level charts: the goods sold (no shipping), by the product's stars and group.
    value = _line_value()
    units = OrderLine.quantity - OrderLine.cancelled_quantity
    lines = (
        select(OrderLine.id)
        .join(counted, counted.c.sub_order_id == OrderLine.sub_order_id)
        .outerjoin(Variant, Variant.id == OrderLine.variant_id)
        .outerjoin(Product, Product.id == Variant.product_id)
    )
    star_rows = db.session.execute(
        lines.with_only_columns(Product.cert_stars, func.sum(value), func.sum(units)).group_by(Product.cert_stars)
    ).all()
    by_stars = []
    for stars in (5, 4, 3, None):
        amount, n = next(((int(a or 0), int(u or 0)) for s, a, u in star_rows if s == stars), (0, 0))
        label = _l("OCOP %(n)s sao", n=stars) if stars else _l("Chưa gắn sao")
        by_stars.append(Slice(stars, str(label), amount, n))

    group_rows = db.session.execute(
        lines.with_only_columns(Product.category_id, func.sum(value), func.sum(units)).group_by(Product.category_id)
    ).all()
    by_group = _by_top_category(group_rows)

    waiting, waiting_count = waiting_sub_orders(waiting_limit, now=now)
    return Dashboard(
        days=days,
        first=first,
        last=today,
        gmv=int(gmv or 0),
        orders=int(orders or 0),
        by_day=by_day,
        by_province=by_province,
        by_stars=by_stars,
        by_group=by_group,
        top_producers=top_producers,
        waiting=waiting,
        waiting_count=waiting_count,
        pending_applications=db.session.scalar(select(func.count(Producer.id)).where(Producer.status == "pending"))
        or 0,
        pending_certificates=db.session.scalar(select(func.count(Certificate.id)).where(Certificate.state == "pending"))
        or 0,
        goods_total=sum(s.amount for s in by_stars),
    )


def _by_top_category(rows) -> list[Slice]:
    """Fold per-category sums into their level-1 product group (the category tree
    is small: read it once)."""
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).tuples().all())
    groups: dict[int | None, Category] = {
        c.id: c for c in db.session.scalars(select(Category).where(Category.level == 1))
    }
    sums: dict[int | None, list[int]] = {}
    for category_id, amount, units in rows:
        top, seen = category_id, set()
        while top is not None and parents.get(top) is not None and top not in seen:
            seen.add(top)
            top = parents[top]
        key = top if top in groups else None
        acc = sums.setdefault(key, [0, 0])
        acc[0] += int(amount or 0)
        acc[1] += int(units or 0)
    out = []
    for key, (amount, units) in sums.items():
        group = groups.get(key)
        label = group.name(str(get_locale() or "vi")) if group else str(_l("Không rõ nhóm (sản phẩm đã xoá)"))
        out.append(Slice(key, label, amount, units))
    out.sort(key=lambda s: (-s.amount, s.label))
    return out


def waiting_sub_orders(limit: int = 20, now: datetime | None = None) -> tuple[list[Waiting], int]:
    """Sub-orders still waiting for the producer's confirmation more than 24 hours
    after the order was placed (or paid, for cards), oldest first; and how many there are."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=WAITING_HOURS)
    since = func.coalesce(Order.paid_at, Order.created_at)
    where = (SubOrder.status == "pending", Order.status.in_(("placed", "paid")), since < cutoff)
    count = db.session.scalar(select(func.count(SubOrder.id)).join(Order, Order.id == SubOrder.order_id).where(*where))
    rows = db.session.execute(
        select(SubOrder.id, Order.id, Order.number, Producer.id, Producer.name, SubOrder.total, since)
        .join(Order, Order.id == SubOrder.order_id)
        .join(Producer, Producer.id == SubOrder.producer_id)
        .where(*where)
        .order_by(since, SubOrder.id)
        .limit(limit)
    ).all()
    waiting = []
    for sub_id, order_id, number, producer_id, name, total, placed in rows:
        placed = placed if placed.tzinfo else placed.replace(tzinfo=UTC)
        waiting.append(
            Waiting(
                sub_id, order_id, number, producer_id, name, total, placed, int((now - placed).total_seconds() // 3600)
            )
        )
    return waiting, int(count or 0)


@dataclass(frozen=True)
class ProducerRow:
    producer: Producer
    products: int
    listed: int


def pending_applications() -> list[Producer]:
    """Producers waiting for a decision, oldest first, with their certificates."""
    return list(
        db.session.scalars(
            select(Producer)
            .where(Producer.status == "pending")
            .options(
                selectinload(Producer.province),
                selectinload(Producer.certificates).selectinload(Certificate.product),
            )
            .order_by(Producer.created_at, Producer.id)
        )
    )


def producers(
    status: str | None = None, province_id: int | None = None, q: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Page[ProducerRow]:
    """Producers matching the filters, applications waiting first, then by name;
    with each one's product counts (two grouped queries for the page)."""
    stmt = select(Producer).options(selectinload(Producer.province))
    if status in PRODUCER_STATUS_LABELS:
        stmt = stmt.where(Producer.status == status)
    if province_id:
        stmt = stmt.where(Producer.province_id == province_id)
    words = (q or "").strip()
    if words:
        like = f"%{words}%"
        stmt = stmt.where(or_(Producer.name.ilike(like), Producer.tax_code.ilike(like), Producer.email.ilike(like)))
    stmt = stmt.order_by(case((Producer.status == "pending", 0), else_=1), Producer.name, Producer.id)
    result = db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False, count=True)
    ids = [p.id for p in result.items]
    counts = {}
    if ids:
        counts = {
            pid: (total, int(listed or 0))
            for pid, total, listed in db.session.execute(
                select(
                    Product.producer_id,
                    func.count(Product.id),
                    func.sum(case((Product.listed.is_(True), 1), else_=0)),
                )
                .where(Product.producer_id.in_(ids))
                .group_by(Product.producer_id)
            )
        }
    rows = [ProducerRow(p, *counts.get(p.id, (0, 0))) for p in result.items]
    return counted(rows, result.page, result.total or 0, per_page)


def producer_status_counts() -> dict[str, int]:
    """Producers per status over the whole table, whatever the filters (the list's tabs)."""
    return dict(
        db.session.execute(select(Producer.status, func.count(Producer.id)).group_by(Producer.status)).tuples().all()
    )


def provinces() -> list[Province]:
    return list(db.session.scalars(select(Province).order_by(Province.position, Province.name)))


@dataclass
class ProducerFile:
    producer: Producer
    products: int
    listed: int
    products_list: list[Product]
    certificates: list[Certificate]
    sub_orders: list[SubOrder]
    order_counts: dict[str, int]
    balance: int
    ledger: list[LedgerEntry]
    history: list[AuditEntry]
    owners: list[User]


def producer_file(producer_id: int) -> ProducerFile | None:
    """Everything the console shows about one producer, or None if there is no such producer."""
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        return None
    products = list(
        db.session.scalars(
            select(Product)
            .where(Product.producer_id == producer_id)
            .order_by(Product.listed.desc(), Product.name)
            .limit(50)
        )
    )
    total, listed = db.session.execute(
        select(func.count(Product.id), func.coalesce(func.sum(case((Product.listed.is_(True), 1), else_=0)), 0)).where(
            Product.producer_id == producer_id
        )
    ).one()
    certificates = list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.producer_id == producer_id)
            .options(selectinload(Certificate.product))
            .order_by(Certificate.created_at.desc(), Certificate.id.desc())
        )
    )
    sub_orders = list(
        db.session.scalars(
            select(SubOrder)
            .join(Order, Order.id == SubOrder.order_id)
            .where(SubOrder.producer_id == producer_id)
            .options(selectinload(SubOrder.order))
            .order_by(Order.created_at.desc(), SubOrder.id.desc())
            .limit(20)
        )
    )
    order_counts = dict(
        db.session.execute(
            select(SubOrder.status, func.count(SubOrder.id))
            .where(SubOrder.producer_id == producer_id)
            .group_by(SubOrder.status)
        )
        .tuples()
        .all()
    )
    balance = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.producer_id == producer_id)
    )
    ledger = list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.producer_id == producer_id).order_by(LedgerEntry.id.desc()).limit(20)
        )
    )
    history = list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "producer", AuditEntry.target_id == producer_id)
            .options(selectinload(AuditEntry.actor))
            .order_by(AuditEntry.id.desc())
            .limit(50)
        )
    )
    owners = list(
        db.session.scalars(
            select(User)
            .join(ProducerMember, ProducerMember.user_id == User.id)
            .where(ProducerMember.producer_id == producer_id)
            .order_by(ProducerMember.role.desc(), User.id)
        )
    )
    return ProducerFile(
        producer, int(total), int(listed), products, certificates, sub_orders, order_counts, int(balance or 0),
        ledger, history, owners,
    )  # fmt: skip


CERTIFICATE_TABS = ("pending", "expiring", "expired")


def pending_certificates() -> list[Certificate]:
    """Certificates waiting to be verified, oldest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.state == "pending")
            .options(
                selectinload(Certificate.producer),
                selectinload(Certificate.product),
                selectinload(Certificate.issuing_province),
            )
            .order_by(Certificate.created_at, Certificate.id)
        )
    )


def _verified(*where):
    return (
        select(Certificate)
        .where(Certificate.state == "verified", *where)
        .options(selectinload(Certificate.producer), selectinload(Certificate.product))
    )


def expiring_certificates(today: date | None = None, within: int = EXPIRING_DAYS) -> list[Certificate]:
    """Verified certificates still valid that expire within `within` days, soonest first."""
    today = today or today_vn()
    return list(
        db.session.scalars(
            _verified(
                Certificate.expires_on >= today, Certificate.expires_on <= today + timedelta(days=within)
            ).order_by(Certificate.expires_on, Certificate.id)
        )
    )


def expired_certificates(today: date | None = None, limit: int = 200) -> list[Certificate]:
    """Verified certificates whose validity has ended, most recently expired first."""
    today = today or today_vn()
    return list(
        db.session.scalars(
            _verified(Certificate.expires_on < today)
            .order_by(Certificate.expires_on.desc(), Certificate.id)
            .limit(limit)
        )
    )


def certificate_counts(today: date | None = None, within: int = EXPIRING_DAYS) -> dict[str, int]:
    today = today or today_vn()
    verified = Certificate.state == "verified"
    pending, expiring, expired = db.session.execute(
        select(
            func.coalesce(func.sum(case((Certificate.state == "pending", 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(
                                verified,
                                Certificate.expires_on >= today,
                                Certificate.expires_on <= today + timedelta(days=within),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
            func.coalesce(func.sum(case((and_(verified, Certificate.expires_on < today), 1), else_=0)), 0),
        )
    ).one()
    return {"pending": int(pending), "expiring": int(expiring), "expired": int(expired)}
