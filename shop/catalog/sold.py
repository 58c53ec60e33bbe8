"""Sold counts ("Đã bán N"): the units of each product delivered to buyers, and the "Bán chạy" sort.

What counts: units of order lines whose shop's sub-order is delivered, less the
units cancelled from them. Not units of orders merely placed: a cash-on-delivery
parcel refused at the door, an unpaid card or transfer order, a line the producer
cancels — none of those reached a buyer, and in Vietnam, where most orders are paid
in cash on delivery, a count of placed orders would be inflated by exactly the
orders shoppers worry about. Like the big marketplaces' counts of completed orders,
the number only grows when a parcel arrives, so it is a fact a shopper can trust.

Kept by `recount_sold`, a beat task (every few minutes) that reads the order lines
and writes only the products whose count changed: checkout and delivery never
touch a product row for it, so they take no product-row lock. It purges:

- ``p:<id>`` and ``c:<id>`` only when the number shown changed (1,200 → 1,201 both
  read "Đã bán 1,2k" and purge nothing but the "Bán chạy" listings);
- ``sold``, the tag of every listing sorted by "Bán chạy", whenever any count moved.

The row's ``updated_at`` moves with its count, so every process's catalog index
(shop.catalog.index) picks the new counts up for the sort.
"""

from typing import cast

from sqlalchemy import Table, bindparam, func, select, update

from shop.catalog.changes import note_tags
from shop.catalog.models import Product, Variant
from shop.extensions import db
from shop.formatting import compact_count, utcnow
from shop.orders.models import OrderLine, SubOrder

SOLD_LISTINGS_TAG = "sold"
BATCH = 1000


def delivered_units() -> dict[int, int]:
    """Units delivered per product id (products with none are left out)."""
    rows = db.session.execute(
        select(Variant.product_id, func.sum(OrderLine.quantity - OrderLine.cancelled_quantity))
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .where(SubOrder.status == "delivered")
        .group_by(Variant.product_id)
    ).all()
    return {pid: int(n) for pid, n in rows if n and int(n) > 0}


def recount_sold() -> int:
    """Bring every product's sold_count in line with the delivered order lines and
    commit; returns how many products changed. Safe to run twice or at once: each
    run writes the same numbers, and only to rows that differ."""
    counts = delivered_units()
    table = cast(Table, Product.__table__)  # Core: no ORM events; the tags are noted below
    # A product in `counts` exists (its variant does); any other product's count is 0.
    current = dict(
        db.session.execute(select(Product.id, Product.sold_count).where(Product.sold_count != 0)).tuples().all()
    )
    changes = {
        pid: counts.get(pid, 0) for pid in set(current) | set(counts) if counts.get(pid, 0) != current.get(pid, 0)
    }
    if not changes:
        return 0
    now = utcnow()
    stmt = (
        update(table)
        .where(table.c.id == bindparam("pid"))
        .values(sold_count=bindparam("n"), updated_at=bindparam("now"))
    )
    items = sorted(changes.items())  # one lock order for every run
    for start in range(0, len(items), BATCH):
        db.session.execute(stmt, [{"pid": pid, "n": n, "now": now} for pid, n in items[start : start + BATCH]])
    shown = [pid for pid, n in items if compact_count(n) != compact_count(current.get(pid, 0))]
    note_tags(db.session, SOLD_LISTINGS_TAG, *(f"p:{pid}" for pid in shown), *(f"c:{pid}" for pid in shown))
    db.session.commit()
    return len(changes)
