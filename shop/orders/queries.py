"""Reads of orders, always scoped to who is asking."""

import hmac

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shop.errors import NotFound
from shop.extensions import db
from shop.orders.models import Order, SubOrder


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
        raise NotFound("Không tìm thấy đơn hàng.")
    if user_id is not None and order.user_id == user_id:
        return order
    if token and hmac.compare_digest(token, order.access_token):
        return order
    raise NotFound("Không tìm thấy đơn hàng.")


def orders_of_user(user_id: int, page: int = 1, per_page: int = 20) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.user_id == user_id)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .options(selectinload(Order.sub_orders).selectinload(SubOrder.producer))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
