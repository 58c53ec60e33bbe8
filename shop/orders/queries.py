"""Reads of orders, always scoped to who is asking."""

import hmac

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from shop.errors import NotFound
from shop.extensions import db
from shop.orders.models import Order, SubOrder
from shop.paging import Page, peek


def order_for_viewer(number: str, *, user_id: int | None, token: str | None) -> Order:
    """The order if this viewer may see it: its signed-in owner, or anyone holding
    the secret from the emailed link. Anything else is a 404 (no hint it exists)."""
    order = db.session.scalars(
        select(Order)
        .where(Order.number == number)
        .options(
            selectinload(Order.sub_orders).selectinload(SubOrder.lines),
            selectinload(Order.sub_orders).selectinload(SubOrder.producer),
            selectinload(Order.events),
        )
    ).first()
    if order is None:
        raise NotFound(_l("Không tìm thấy đơn hàng."))
    if user_id is not None and order.user_id == user_id:
        return order
    if token and hmac.compare_digest(token, order.access_token):
        return order
    raise NotFound(_l("Không tìm thấy đơn hàng."))


# Where a shopper's order stands, as the tabs of "Đơn hàng của tôi" group them.
# An order is as far as its least advanced live shop part (a cancelled part
# doesn't hold it back); it is cancelled when the order or every part is.
STAGES = ("awaiting_payment", "to_confirm", "to_ship", "shipping", "delivered", "cancelled")
_PART_RANK = {"pending": 1, "confirmed": 2, "shipped": 3, "delivered": 4}
_RANK_STAGE = {1: "to_confirm", 2: "to_ship", 3: "shipping", 4: "delivered"}
PER_PAGE = 20


def _least_part_rank():
    rank = case(*((SubOrder.status == status, n) for status, n in _PART_RANK.items()))
    return (
        select(func.min(rank))
        .where(SubOrder.order_id == Order.id, SubOrder.status != "cancelled")
        .correlate(Order)
        .scalar_subquery()
    )


def _stage_expression():
    least = _least_part_rank()
    return case(
        (Order.status == "cancelled", "cancelled"),
        (Order.status == "awaiting_payment", "awaiting_payment"),
        (least.is_(None), "cancelled"),
        *((least == n, stage) for n, stage in _RANK_STAGE.items()),
        else_="to_confirm",
    )


def stage_of(order: Order) -> str:
    """The same stage as the list's tabs, for an order already loaded with its parts."""
    if order.status in ("cancelled", "awaiting_payment"):
        return order.status
    ranks = [_PART_RANK[sub.status] for sub in order.sub_orders if sub.status != "cancelled"]
    return _RANK_STAGE[min(ranks)] if ranks else "cancelled"


def stage_counts(user_id: int) -> dict[str, int]:
    """The shopper's orders per stage, every stage named (the list's tabs)."""
    stage = _stage_expression().label("stage")
    by_stage = select(stage, func.count()).where(Order.user_id == user_id).group_by("stage")
    return {name: 0 for name in STAGES} | {name: n for name, n in db.session.execute(by_stage)}


def orders_of_user(user_id: int, stage: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> Page[Order]:
    """One page of the shopper's orders, newest first, optionally those at one stage."""
    stmt = select(Order).where(Order.user_id == user_id)
    if stage in STAGES:
        stmt = stmt.where(_stage_expression() == stage)
    stmt = stmt.order_by(Order.created_at.desc(), Order.id.desc()).options(
        selectinload(Order.sub_orders).selectinload(SubOrder.producer)
    )
    return peek(stmt, page, per_page)
