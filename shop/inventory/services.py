"""Stock sync use cases: setting stock on hand (and prices) for a producer's SKUs,
the reads the producer API needs, and Idempotency-Key bookkeeping.

`apply_lines` is the core every channel shares (API, CSV upload, feed): it
locks the variants, computes what orders hold, applies the rule of
`shop.inventory.stock` and writes partner deliveries, all without committing;
`update_stock` is the API's use case around it and commits once."""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shop.catalog.models import Product, Variant
from shop.catalog.services import commit_catalog_change
from shop.database import rowcount
from shop.errors import Message, NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.inventory import stock
from shop.inventory.models import IdempotencyKey
from shop.orders.models import Order, OrderLine, SubOrder
from shop.partners.services import record_variant_changes

# Sub-orders whose lines still hold stock, and orders whose holds are sold.
HOLDING_SUB_ORDER = ("pending", "confirmed")
SOLD_ORDER = ("paid", "placed")
MAX_BATCH = 1000


class TooManyItems(ShopError):
    status = 413
    code = "too_many_items"


class BelowSold(ShopError):
    """On hand below what is sold but not shipped yet."""

    status = 409
    code = "sold_not_shipped"


def _refusal(code: str, n: int | None = None) -> Message:
    """A stock reason as a message translated where it is shown (the msgids are marked in shop.portal.sync_views)."""
    return _l(stock.REASONS[code], n=n)


@dataclass(frozen=True)
class Holds:
    held: int = 0
    held_paid: int = 0


@dataclass
class LineResult:
    """What became of one line; `available`/`on_hand`/`held`/`price` are None for unknown SKUs."""

    ref: int
    sku: str
    status: str
    code: str | None = None
    n: int | None = None
    available: int | None = None
    on_hand: int | None = None
    held: int | None = None
    price: int | None = None

    @property
    def reason(self) -> str | None:
        return stock.reason_text(self.code, self.n)

    def as_json(self) -> dict:
        out: dict = {"sku": self.sku, "status": self.status}
        if self.code:
            out["reason_code"], out["reason"] = self.code, self.reason
        out.update(available=self.available, on_hand=self.on_hand, held=self.held, price=self.price)
        return out


@dataclass
class Applied:
    results: list[LineResult] = field(default_factory=list)
    product_ids: set[int] = field(default_factory=set)


def refused(line: stock.LineRefused) -> LineResult:
    return LineResult(line.ref, line.sku, stock.REJECTED, line.code, line.n)


# --- reading holds ---------------------------------------------------------------


def holds_of(variant_ids: list[int]) -> dict[int, Holds]:
    """What unshipped order lines hold of each variant (see shop.inventory.stock)."""
    if not variant_ids:
        return {}
    units = OrderLine.quantity - OrderLine.cancelled_quantity
    rows = db.session.execute(
        select(
            OrderLine.variant_id,
            func.sum(units),
            func.sum(case((Order.status.in_(SOLD_ORDER), units), else_=0)),
        )
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .join(Order, Order.id == SubOrder.order_id)
        .where(
            OrderLine.variant_id.in_(variant_ids),
            SubOrder.status.in_(HOLDING_SUB_ORDER),
            Order.status != "cancelled",
        )
        .group_by(OrderLine.variant_id)
    )
    return {vid: Holds(int(held or 0), int(paid or 0)) for vid, held, paid in rows}


def lock_variants(variant_ids: list[int]) -> None:
    """Take the variants' row locks now, in id order, before reading what orders
    hold, so that a checkout or cancellation running at the same time either
    finishes first (and we see its order lines) or waits for our commit.
    PostgreSQL: SELECT … FOR UPDATE. SQLite has one writer at a time: a no-op
    write takes the database's write lock, and what we read after it is current."""
    if not variant_ids:
        return
    ids = sorted(variant_ids)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Variant.id).where(Variant.id.in_(ids)).order_by(Variant.id).with_for_update())
    else:
        db.session.execute(
            update(Variant)
            .where(Variant.id == ids[0])
            .values(stock=Variant.stock)
            .execution_options(synchronize_session=False)
        )


# --- applying lines (no commit) ---------------------------------------------------


def apply_lines(producer_id: int, lines: list[stock.StockLine]) -> Applied:
    """Set on hand / price for checked lines of one producer, without committing.
    Lines must have distinct SKUs (see stock.first_occurrences). Unknown SKUs
    and other producers' SKUs are reported as "unknown" and touch nothing."""
    out = Applied()
    if not lines:
        return out
    owners = {
        sku: (vid, owner)
        for sku, vid, owner in db.session.execute(
            select(Variant.sku, Variant.id, Product.producer_id)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.sku.in_([line.sku for line in lines]))
        )
    }
    mine = [line for line in lines if line.sku in owners and owners[line.sku][1] == producer_id]
    ids = [owners[line.sku][0] for line in mine]
    lock_variants(ids)
    current = {
        vid: (available, price, product_id)
        for vid, available, price, product_id in db.session.execute(
            select(Variant.id, Variant.stock, Variant.price, Variant.product_id).where(Variant.id.in_(ids))
        )
    }
    holds = holds_of(ids)
    updates = []
    for line in lines:
        owner = owners.get(line.sku)
        if owner is not None and owner[0] not in current and owner[1] == producer_id:
            owner = None  # deleted while we waited for the lock
        if owner is None or owner[1] != producer_id:
            code = "unknown_sku" if owner is None else "other_producer"
            out.results.append(LineResult(line.ref, line.sku, stock.UNKNOWN, code))
            continue
        vid = owner[0]
        available, price, product_id = current[vid]
        h = holds.get(vid, Holds())
        decision = stock.decide(
            on_hand=line.on_hand,
            price=line.price,
            held=h.held,
            held_paid=h.held_paid,
            available=available,
            current_price=price,
        )
        out.results.append(
            LineResult(
                line.ref,
                line.sku,
                decision.status,
                decision.code,
                decision.n,
                available=decision.available,
                on_hand=decision.available + h.held,
                held=h.held,
                price=decision.price,
            )
        )
        if decision.status == stock.APPLIED:
            updates.append({"id": vid, "stock": decision.available, "price": decision.price})
            out.product_ids.add(product_id)
    if updates:
        db.session.execute(update(Variant), updates)
        record_variant_changes([u["id"] for u in updates])
    return out


def commit_changes(product_ids: set[int]) -> None:
    """Commit; when something changed, through the catalog so that the products' read
    columns and the page cache follow (a sync that changes nothing leaves the cache be)."""
    if product_ids:
        commit_catalog_change(product_ids)
    else:
        db.session.commit()


def check_items(items: list) -> tuple[list[stock.StockLine], list[LineResult]]:
    """API items ({"sku", "quantity", "price"?}) to checked lines and refusals."""
    lines, refusals = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            refusals.append(LineResult(index, "", stock.REJECTED, "bad_item"))
            continue
        checked = stock.check_line(index, item.get("sku"), item.get("quantity"), item.get("price"))
        if isinstance(checked, stock.LineRefused):
            refusals.append(refused(checked))
        else:
            lines.append(checked)
    lines, duplicates = stock.first_occurrences(lines)
    refusals += [refused(d) for d in duplicates]
    return lines, refusals


def update_stock(producer_id: int, items: list) -> list[LineResult]:
    """The API's bulk update: every usable item applied in ONE transaction; the
    results come back in the order of the items."""
    if len(items) > MAX_BATCH:
        raise TooManyItems(f"At most {MAX_BATCH} items per request ({len(items)} sent); split the list.")
    lines, results = check_items(items)
    applied = apply_lines(producer_id, lines)
    commit_changes(applied.product_ids)
    return sorted(results + applied.results, key=lambda r: r.ref)


def set_stock(producer_id: int, sku: str, quantity, price=None) -> LineResult:
    """The API's single-SKU update. Unknown (or another producer's) SKU: NotFound;
    a bad value: ShopError 400; below what is sold: ShopError 409."""
    if quantity is None or (isinstance(quantity, str) and not quantity.strip()):
        raise ShopError(_refusal("bad_quantity"), code="bad_quantity")
    checked = stock.check_line(0, sku, quantity, price)
    if isinstance(checked, stock.LineRefused):
        raise ShopError(_refusal(checked.code, checked.n), code=checked.code)
    applied = apply_lines(producer_id, [checked])
    result = applied.results[0]
    if result.status == stock.UNKNOWN:
        db.session.rollback()
        raise NotFound(f"No SKU '{stock.safe_echo(sku)}' in your catalog.")
    if result.status == stock.REJECTED:
        db.session.rollback()
        raise BelowSold(_refusal(result.code or "sold_not_shipped", result.n))
    commit_changes(applied.product_ids)
    return result


def set_variant_on_hand(producer_id: int, variant_id: int, quantity, price=None) -> LineResult:
    """`set_stock` by variant id, for the portal's inline stock edit: the same
    rule, lock and partner deliveries as the API. Commits."""
    sku = db.session.scalar(
        select(Variant.sku)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id == variant_id, Product.producer_id == producer_id)
    )
    if sku is None:
        raise NotFound(_l("Không tìm thấy phân loại."))
    return set_stock(producer_id, sku, quantity, price)


# --- reads for the API --------------------------------------------------------------


def producer_products(producer_id: int, page: int, per_page: int) -> tuple[list[Product], dict[int, Holds], int]:
    """The producer's products (any status) with variants, and what orders hold of each variant."""
    total = db.session.scalar(select(func.count(Product.id)).where(Product.producer_id == producer_id)) or 0
    products = list(
        db.session.scalars(
            select(Product)
            .where(Product.producer_id == producer_id)
            .order_by(Product.id)
            .options(selectinload(Product.variants))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    holds = holds_of([v.id for p in products for v in p.variants])
    return products, holds, total


def visible_sub_orders(producer_id: int):
    """The producer's sub-orders that are real orders: not card orders still
    awaiting payment, nor ones cancelled before they were ever paid."""
    never_paid = (Order.status == "cancelled") & (Order.payment_method == "card") & Order.paid_at.is_(None)
    return (
        select(SubOrder)
        .join(Order, Order.id == SubOrder.order_id)
        .where(SubOrder.producer_id == producer_id, Order.status != "awaiting_payment", ~never_paid)
    )


def producer_sub_orders(producer_id: int, status: str | None, page: int, per_page: int) -> tuple[list[SubOrder], int]:
    stmt = visible_sub_orders(producer_id)
    if status:
        stmt = stmt.where(SubOrder.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(SubOrder.id.desc())
        .options(selectinload(SubOrder.lines), selectinload(SubOrder.order))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


# --- Idempotency-Key ------------------------------------------------------------------

IN_PROGRESS = 0  # response_status of a key whose request is still running
CLAIM_TIMEOUT = timedelta(minutes=2)  # an in-progress claim older than this was abandoned
KEEP_KEYS = timedelta(hours=24)


@dataclass(frozen=True)
class Claim:
    """`state`: "new" (run the request, then `finish`), "replay" (answer with
    status/body), "reused" (same key, different request) or "in_progress"."""

    state: str
    key_id: int | None = None
    status: int | None = None
    body: str | None = None


def claim_key(token_id: int, key: str, request_hash: str, now: datetime | None = None) -> Claim:
    """Reserve an Idempotency-Key for this request (commits), or say what it already holds."""
    now = now or utcnow()
    row = IdempotencyKey(
        token_id=token_id, key=key, request_hash=request_hash, response_status=IN_PROGRESS, response_body=""
    )
    db.session.add(row)
    try:
        db.session.commit()
        return Claim("new", row.id)
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.token_id == token_id, IdempotencyKey.key == key)
    ).one()
    if existing.request_hash != request_hash:
        return Claim("reused")
    if existing.response_status != IN_PROGRESS:
        return Claim("replay", existing.id, existing.response_status, existing.response_body)
    if now - as_utc(existing.created_at) < CLAIM_TIMEOUT:
        return Claim("in_progress")
    # Abandoned (the process died mid-request): take it over. Stock updates set
    # absolute values, so running the request again is safe.
    taken = rowcount(
        db.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == existing.id, IdempotencyKey.created_at == existing.created_at)
            .values(created_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return Claim("new", existing.id) if taken else Claim("in_progress")


def finish_key(key_id: int, status: int, body: str) -> None:
    """Store the answer of a claimed key (commits)."""
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == key_id)
        .values(response_status=status, response_body=body)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def release_key(key_id: int) -> None:
    """Forget a claim whose request failed on our side, so that a retry runs it (commits)."""
    db.session.rollback()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == key_id))
    db.session.commit()


def purge_keys(now: datetime | None = None) -> int:
    """Delete stored answers older than a day (commits)."""
    now = now or utcnow()
    gone = rowcount(db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_KEYS)))
    db.session.commit()
    return gone


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
