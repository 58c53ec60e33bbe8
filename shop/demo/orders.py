"""Demo orders: about sixty cash-on-delivery orders over the last five weeks,
placed, confirmed, shipped, delivered or cancelled through the real services, so
that the operator's dashboard, orders and payouts and the producers' portal open
on figures that add up (prices, promotions, stock, ledger and payout weeks).

The services stamp each step with the current time; once an order has lived its
life, its steps and the ledger entries they wrote are moved back to plausible
moments after the order was placed. Everything is drawn from a fixed seed, so two
fresh installations look alike. The e-mails these orders cause stay in the outbox,
marked as sent in the transaction that writes them: no demo shopper is mailed."""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import event, select, update

from shop.accounts.models import User
from shop.accounts.services import DEMO_USERS
from shop.audit.models import AuditEntry
from shop.cart.models import CartLine
from shop.cart.services import add_item, get_cart
from shop.catalog.models import Product, Variant
from shop.checkout.services import Delivery, place_order
from shop.extensions import db
from shop.formatting import as_utc, today_vn, utcnow
from shop.ledger import services as ledger
from shop.ledger.models import LedgerEntry, Payout
from shop.notifications.models import OutboxEmail
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent
from shop.places.models import Province, Ward
from shop.producers.models import Producer

SEED = 2025
DAYS = 35
HONEY = "htx-chan-nuoi-ong-phong-tho"  # the demo producer's own cooperative
SHOPPER = next(email for email, role, *_rest in DEMO_USERS if role == "shopper")
OPERATOR = next(email for email, role, *_rest in DEMO_USERS if role == "operator")
# Orders never take a variant below this: the catalog's "low stock" and "sold
# out" examples stay as they are, and a shopper can still buy everything else.
STOCK_FLOOR = 5
COD_CEILING = 2_500_000  # goods per order, well under the COD limit with shipping

# Returning customers, each with a home province (the big cities buy the most).
GUESTS = (
    ("Trần Minh Anh", "minhanh.tran@example.com", "0903 214 578", "Hồ Chí Minh"),
    ("Lê Thu Hương", "huong.le@example.com", "0912 468 135", "Hà Nội"),
    ("Phạm Quốc Bảo", "bao.pham@example.com", "0935 702 419", "Đà Nẵng"),
    ("Nguyễn Hoàng Yến", "yen.nguyenhoang@example.com", "0988 157 304", "Hà Nội"),
    ("Võ Thanh Tùng", "tung.vo@example.com", "0907 836 221", "Cần Thơ"),
    ("Đặng Mai Phương", "maiphuong.dang@example.com", "0916 543 870", "Hải Phòng"),
    ("Bùi Đức Thắng", "thang.bui@example.com", "0972 318 046", "Nghệ An"),
    ("Hoàng Lan Chi", "lanchi.hoang@example.com", "0944 720 583", "Hồ Chí Minh"),
    ("Đỗ Văn Hải", "hai.do@example.com", "0965 091 237", "Quảng Ninh"),
    ("Huỳnh Ngọc Trâm", "tram.huynh@example.com", "0938 664 152", "Khánh Hòa"),
    ("Ngô Thị Thảo", "thao.ngo@example.com", "0983 205 716", "Bắc Ninh"),
    ("Trương Gia Huy", "giahuy.truong@example.com", "0909 487 390", "Đồng Nai"),
    ("Lý Minh Khoa", "khoa.ly@example.com", "0918 352 649", "Lâm Đồng"),
    ("Phan Thu Trang", "trang.phan@example.com", "0936 118 274", "Thanh Hóa"),
)
SHOPPER_ADDRESS = ("Khách Demo", "0901 234 567", "Hà Nội", "18 Lý Thường Kiệt")
STREETS = (
    "12 Nguyễn Trãi",
    "45 Lê Lợi",
    "7 Trần Hưng Đạo",
    "102 Hai Bà Trưng",
    "23 Phan Chu Trinh",
    "88 Điện Biên Phủ",
    "5 Ngõ 14 Hoàng Hoa Thám",
    "61 Quang Trung",
    "130 Nguyễn Văn Cừ",
    "9 Lê Duẩn",
)
CARRIERS = (
    ("Giao Hàng Nhanh", "GHN"),
    ("Giao Hàng Tiết Kiệm", "GHTK"),
    ("Viettel Post", "VTP"),
    ("Bưu điện Việt Nam (EMS)", "EMS"),
)
CANCEL_REASONS = (
    "Khách gọi điện xin huỷ vì đặt trùng đơn.",
    "Không liên lạc được với người nhận để xác nhận đơn.",
    "Lô hàng không đạt kiểm tra chất lượng trước khi đóng gói.",
    "Khách đổi địa chỉ sang tỉnh khác, đã hướng dẫn đặt đơn mới.",
)


@dataclass
class _Shopper:
    user_id: int | None
    email: str
    recipient: str
    phone: str
    province: str
    street: str | None  # None: a different street each time


def seed_demo_orders(now: datetime | None = None) -> int:
    """Place the demo orders and move them through their life, then close the
    ended payout weeks (all paid but the latest). Only when there are no orders
    yet; returns how many orders were placed."""
    if db.session.scalar(select(Order.id).limit(1)) is not None:
        return 0
    now = (as_utc(now) or utcnow()).replace(microsecond=0)
    rng = random.Random(SEED)
    moments = _order_moments(rng, now)
    users = dict(
        db.session.execute(select(User.email, User.id).where(User.email.in_((SHOPPER, OPERATOR)))).tuples().all()
    )
    honey_id = db.session.scalar(select(Producer.id).where(Producer.slug == HONEY))
    stock = _stock_by_producer()
    if not moments or not stock:
        return 0
    shoppers = [_Shopper(users.get(SHOPPER), SHOPPER, *SHOPPER_ADDRESS)] + [
        _Shopper(None, email, name, phone, province, None) for name, email, phone, province in GUESTS
    ]
    # The two latest orders wait for the demo producer ("Đơn mới" in its portal);
    # two of a few days ago were left unanswered (the console's waiting list).
    fates = ["flow"] * len(moments)
    for i in range(max(0, len(moments) - 2), len(moments)):
        fates[i] = "new"
    late = [
        i
        for i, at in enumerate(moments)
        if fates[i] == "flow" and timedelta(hours=26) <= now - at <= timedelta(hours=96)
    ]
    for i in rng.sample(late, min(2, len(late))):
        fates[i] = "stale"
    for i, fate in enumerate(fates):
        if fate == "flow" and rng.random() < 0.08:
            fates[i] = "cancel"

    placed = 0
    wards: dict[int, list[int]] = {}
    with _mail_kept_in_outbox():
        for index, (at, fate) in enumerate(zip(moments, fates, strict=True)):
            # A third of the orders come from the demo shopper; the rest from guests.
            shopper = shoppers[0] if rng.random() < 0.3 else rng.choice(shoppers[1:])
            must_have = honey_id if fate == "new" else None
            items = _basket(rng, stock, honey_id, must_have)
            if not items:
                continue
            order_id = _place(rng, index, at, shopper, items, wards)
            for variant_id, quantity in items:
                _take(stock, variant_id, quantity)
            _live(rng, order_id, fate, now, stock)
            placed += 1
        _close_weeks(rng, moments[0], now, users.get(OPERATOR))
    return placed


# --- planning -------------------------------------------------------------------


def _order_moments(rng: random.Random, now: datetime) -> list[datetime]:
    """One to three orders a day over the last DAYS Vietnam days, between 07:00 and
    22:30 Vietnam time, none in the last half hour; sorted, in UTC."""
    today = today_vn(now)
    moments = []
    for days_ago in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        # A young marketplace that grows: the last week is busier.
        weights = (2, 4, 3) if days_ago < 7 else (4, 4, 1)
        for _ in range(rng.choices((1, 2, 3), weights=weights)[0]):
            minute = rng.randrange(7 * 60, 22 * 60 + 30)
            at = ledger.vn_midnight(day) + timedelta(minutes=minute, seconds=rng.randrange(60))
            if at <= now - timedelta(minutes=30):
                moments.append(at)
    return sorted(moments)


def _stock_by_producer() -> dict[int, dict[int, tuple[int, int]]]:
    """producer id -> {variant id: (price, stock)} for what shoppers can buy now."""
    out: dict[int, dict[int, tuple[int, int]]] = {}
    rows = db.session.execute(
        select(Product.producer_id, Variant.id, Variant.price, Variant.stock)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.listed.is_(True))
        .order_by(Variant.id)
    )
    for producer_id, variant_id, price, stock in rows:
        out.setdefault(producer_id, {})[variant_id] = (price, stock)
    return out


def _take(stock: dict[int, dict[int, tuple[int, int]]], variant_id: int | None, quantity: int) -> None:
    """Count `quantity` units out of (or, negative, back into) a variant's stock; a
    variant that is gone (None) is not counted any more."""
    for variants in stock.values():
        if variant_id in variants:
            price, left = variants[variant_id]
            variants[variant_id] = (price, left - quantity)
            return


def _basket(
    rng: random.Random, stock: dict[int, dict[int, tuple[int, int]]], honey_id: int | None, must_have: int | None
) -> list[tuple[int, int]]:
    """1–3 products from 1–2 producers, 1–3 of each, cheaper things more often;
    the demo producer in about a third of the orders."""
    sellable = {
        producer_id: [v for v, (_price, left) in variants.items() if left - 1 >= STOCK_FLOOR]
        for producer_id, variants in stock.items()
    }
    sellable = {p: vs for p, vs in sellable.items() if vs}
    if not sellable:
        return []
    others = sorted(p for p in sellable if p != honey_id)
    wanted = rng.choices((1, 2), weights=(7, 3))[0]
    chosen = []
    if honey_id in sellable and (must_have == honey_id or rng.random() < 0.35):
        chosen.append(honey_id)
    chosen += rng.sample(others, min(len(others), wanted - len(chosen)))
    items, goods = [], 0
    for producer_id in chosen:
        variants = sellable[producer_id]
        lines = 1 if len(chosen) == 2 else rng.choices((1, 2, 3), weights=(5, 3, 1))[0]
        weights = [1 / stock[producer_id][v][0] ** 0.5 for v in variants]
        picked: list[int] = []
        while variants and len(picked) < lines:
            variant_id = rng.choices(variants, weights=weights)[0]
            i = variants.index(variant_id)
            variants, weights = variants[:i] + variants[i + 1 :], weights[:i] + weights[i + 1 :]
            picked.append(variant_id)
        for variant_id in picked:
            price, left = stock[producer_id][variant_id]
            quantity = min(rng.choices((1, 2, 3), weights=(6, 3, 1))[0], left - STOCK_FLOOR)
            while quantity > 1 and goods + price * quantity > COD_CEILING:
                quantity -= 1
            if goods + price * quantity > COD_CEILING:
                continue
            items.append((variant_id, quantity))
            goods += price * quantity
    return items


# --- placing and living ---------------------------------------------------------------


def _place(
    rng: random.Random,
    index: int,
    at: datetime,
    shopper: _Shopper,
    items: list[tuple[int, int]],
    wards: dict[int, list[int]],
) -> int:
    """Put the items in a cart and check it out at `at`, paying on delivery
    (`wards`: each province's ward ids, filled as needed)."""
    # The demo shopper's own cart, unless someone has left things in it.
    owner = shopper.user_id
    if owner is not None:
        cart = get_cart(owner, None)
        if cart is not None and db.session.scalar(select(CartLine.id).where(CartLine.cart_id == cart.id).limit(1)):
            owner = None
    token = None
    for variant_id, quantity in items:
        token, _added = add_item(owner, token, variant_id, quantity)
    cart = get_cart(owner, token)
    if cart is None:  # add_item has just made or filled it
        raise RuntimeError(f"demo order {index}: no cart after adding {items}")
    province_id = db.session.execute(select(Province.id).where(Province.name == shopper.province)).scalar_one()
    if province_id not in wards:
        wards[province_id] = list(
            db.session.scalars(select(Ward.id).where(Ward.province_id == province_id).order_by(Ward.code))
        )
    order = place_order(
        cart_id=cart.id,
        user_id=shopper.user_id,
        delivery=Delivery(
            email=shopper.email,
            recipient=shopper.recipient,
            phone=shopper.phone.replace(" ", ""),
            province_id=province_id,
            ward_id=wards[province_id][0] if shopper.street else rng.choice(wards[province_id]),
            street=shopper.street or rng.choice(STREETS),
        ),
        payment_method="cod",
        checkout_key=f"demo-{at:%Y%m%d%H%M%S}-{index}",
        now=at,
    )
    return order.id


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.randrange(int(low * 60), int(high * 60)))


def _live(
    rng: random.Random, order_id: int, fate: str, now: datetime, stock: dict[int, dict[int, tuple[int, int]]]
) -> None:
    """Move each producer's part of the order as far as time allows (`fate`: "flow",
    "cancel", or left pending: "new", "stale"), then date each step and its ledger
    entries back to when it happened."""
    order = db.session.get_one(Order, order_id)  # _place has just made it
    at = as_utc(order.created_at)
    sub_ids = [sub.id for sub in order.sub_orders]
    cancelled_one = rng.choice(sub_ids) if fate == "cancel" else None
    stamps: dict[tuple[int, str], datetime] = {}
    for sub_id in sub_ids:
        if fate in ("new", "stale"):
            continue
        confirmed = at + _hours(rng, 1, 16)
        if sub_id == cancelled_one:
            cancelled = at + _hours(rng, 1, 20)
            if cancelled > now:
                continue
            if confirmed < cancelled and rng.random() < 0.5:
                orders.confirm_sub_order(sub_id)
                stamps[sub_id, "confirmed"] = confirmed
            sub = orders.cancel_sub_order(sub_id, rng.choice(CANCEL_REASONS))
            stamps[sub_id, "cancelled"] = cancelled
            for line in sub.lines:  # its stock came back
                _take(stock, line.variant_id, -line.quantity)
            continue
        shipped = confirmed + _hours(rng, 6, 40)
        delivered = shipped + _hours(rng, 36, 110)
        if confirmed > now:
            continue
        orders.confirm_sub_order(sub_id)
        stamps[sub_id, "confirmed"] = confirmed
        if shipped > now:
            continue
        carrier, prefix = rng.choice(CARRIERS)
        orders.ship_sub_order(sub_id, carrier, f"{prefix}{rng.randrange(10**9, 10**10)}")
        stamps[sub_id, "shipped"] = shipped
        if delivered > now:
            continue
        orders.deliver_sub_order(sub_id)
        stamps[sub_id, "delivered"] = delivered
    _date_back(order_id, stamps)


def _date_back(order_id: int, stamps: dict[tuple[int, str], datetime]) -> None:
    """Give the order's steps, its timeline and its ledger entries the moments in `stamps`."""
    order = db.session.get_one(Order, order_id)
    for sub in order.sub_orders:
        for kind in ("confirmed", "shipped", "delivered", "cancelled"):
            if (sub.id, kind) in stamps:
                setattr(sub, f"{kind}_at", stamps[sub.id, kind])
        if (sub.id, "delivered") in stamps:
            db.session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.sub_order_id == sub.id)
                .values(created_at=stamps[sub.id, "delivered"])
                .execution_options(synchronize_session=False)
            )
    for entry in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)):
        if entry.kind == "placed":
            entry.created_at = order.created_at
        elif entry.sub_order_id is not None and (entry.sub_order_id, entry.kind) in stamps:
            entry.created_at = stamps[entry.sub_order_id, entry.kind]
    if order.status == "cancelled":
        order.cancelled_at = max(when for (_sub, kind), when in stamps.items() if kind == "cancelled")
    db.session.commit()


# --- payout weeks ------------------------------------------------------------------------


def _close_weeks(rng: random.Random, first: datetime, now: datetime, operator_id: int | None) -> None:
    """Close every payout week that has ended since the first order, as the beat
    task does at 00:10 on Monday; the operator paid each on the Tuesday after,
    except the latest week, still due."""
    today = today_vn(now)
    start, _end = ledger.period_of(today_vn(first))
    last, _ = ledger.period_of(today - timedelta(days=7))
    weeks: list[tuple[date, list[int]]] = []
    while start <= last:
        weeks.append((start, ledger.close_period(start, today=today)))
        start += timedelta(days=7)
    for start, payout_ids in weeks:
        end = start + timedelta(days=7)
        closed_at = ledger.vn_midnight(end) + timedelta(minutes=10)
        _date_audit("payout.close_period", None, closed_at, label_prefix=start.isoformat())
        db.session.execute(
            update(Payout)
            .where(Payout.id.in_(payout_ids))
            .values(created_at=closed_at)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if start == last or operator_id is None:
            continue
        for payout_id in payout_ids:
            paid_at = ledger.vn_midnight(end + timedelta(days=1)) + _hours(rng, 9, 11.5)
            ledger.mark_paid(payout_id, f"FT{paid_at:%y%j}{rng.randrange(10**7):07d}", actor_id=operator_id)
            db.session.execute(
                update(Payout)
                .where(Payout.id == payout_id)
                .values(paid_at=paid_at)
                .execution_options(synchronize_session=False)
            )
            db.session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.payout_id == payout_id, LedgerEntry.kind == "payout")
                .values(created_at=paid_at)
                .execution_options(synchronize_session=False)
            )
            _date_audit("payout.mark_paid", payout_id, paid_at)
            db.session.commit()


def _date_audit(action: str, target_id: int | None, when: datetime, label_prefix: str = "") -> None:
    """Date the newest audit entry of `action` (on `target_id`) back to `when` (no commit)."""
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if label_prefix:
        stmt = stmt.where(AuditEntry.target_label.startswith(label_prefix))
    entry = db.session.scalar(stmt)
    if entry is not None:
        entry.created_at = when


# --- mail ---------------------------------------------------------------------------------


@contextmanager
def _mail_kept_in_outbox() -> Iterator[None]:
    """While the demo orders are made, every outbox row is marked as sent before
    the transaction that writes it commits: the worker task queued after the
    commit, and the sweeper, then find nothing to send."""
    session = db.session()
    written: list[OutboxEmail] = []

    def collect(session, _context):
        written.extend(obj for obj in session.new if isinstance(obj, OutboxEmail))

    def mark(session):
        session.flush()
        for row in written:
            row.sent_at, row.claimed_by = utcnow(), "seed-demo"
        written.clear()

    event.listen(session, "after_flush", collect)
    event.listen(session, "before_commit", mark)
    try:
        yield
    finally:
        event.remove(session, "before_commit", mark)
        event.remove(session, "after_flush", collect)
