"""Reads of reviews: a product's visible ones (cached with its page), a buyer's per
order line, the console's list, a producer's own products' reviews."""

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.reviews.models import Review

PAGE_REVIEWS = 20


def visible_for_product(product_id: int, limit: int = PAGE_REVIEWS) -> list[Review]:
    """Newest visible reviews of a product (shown to everybody: no per-visitor data)."""
    stmt = (
        select(Review)
        .where(Review.product_id == product_id, Review.hidden.is_(False))
        .options(selectinload(Review.photos))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def by_line_of_order(order: Order) -> dict[int, Review]:
    """The order's reviews by order line id (the order page's "Viết đánh giá" / "Sửa đánh giá")."""
    line_ids = [line.id for sub in order.sub_orders for line in sub.lines]
    if not line_ids:
        return {}
    rows = db.session.scalars(select(Review).where(Review.order_line_id.in_(line_ids)))
    return {r.order_line_id: r for r in rows}


def for_console(hidden: bool | None = None, limit: int = 200) -> list[Review]:
    stmt = select(Review).order_by(Review.id.desc()).limit(limit)
    if hidden is not None:
        stmt = stmt.where(Review.hidden.is_(hidden))
    return list(db.session.scalars(stmt))


def for_producer(producer_id: int, rating: int | None = None, limit: int = 200) -> list[Review]:
    """Reviews of one producer's products only (the portal's scope), newest first,
    hidden ones included (the producer sees why); `rating`: only those of that many stars."""
    stmt = (
        select(Review)
        .where(Review.producer_id == producer_id)
        .options(selectinload(Review.photos), selectinload(Review.product))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(limit)
    )
    if rating is not None:
        stmt = stmt.where(Review.rating == rating)
    return list(db.session.scalars(stmt))


def producer_summary(producer_id: int) -> dict[int, int]:
    """How many visible reviews of the producer's products give each rating (1–5)."""
    rows = db.session.execute(
        select(Review.rating, func.count())
        .where(Review.producer_id == producer_id, Review.hidden.is_(False))
        .group_by(Review.rating)
    ).all()
    counts = dict.fromkeys(range(1, 6), 0)
    counts.update({int(rating): int(n) for rating, n in rows})
    return counts


def own_review(user_id: int, review_id: int) -> Review | None:
    review = db.session.get(Review, review_id)
    return review if review is not None and review.user_id == user_id else None


def line_of(review: Review) -> OrderLine:
    return db.session.get_one(OrderLine, review.order_line_id)
