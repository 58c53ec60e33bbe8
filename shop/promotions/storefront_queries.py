"""The storefront's reads of promotion weeks: a week's landing page and its
products, the running and coming weeks for the home page.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import contains_eager

from shop.catalog.models import Product, Variant
from shop.catalog.reference import reference
from shop.extensions import db
from shop.formatting import today_vn, utcnow
from shop.places.models import Province
from shop.producers.models import Producer
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.promotions.week_rules import WeekGroups, week_status


def public_week(slug: str) -> Promotion | None:
    """A published or cancelled week by its slug (drafts do not exist for shoppers)."""
    return db.session.scalars(
        select(Promotion).where(Promotion.slug == slug, Promotion.state.in_(("published", "cancelled")))
    ).first()


def public_weeks(now: datetime | None = None, ended_days: int = 60) -> WeekGroups:
    """Running, upcoming and recently ended published weeks for the /khuyen-mai index."""
    now = now or utcnow()
    out = WeekGroups()
    for p in db.session.scalars(
        select(Promotion)
        .where(Promotion.state == "published", Promotion.ends_at > now - timedelta(days=ended_days))
        .order_by(Promotion.starts_at, Promotion.id)
    ):
        status = week_status(p, now)
        getattr(out, status if status in ("running", "upcoming") else "ended").append(p)
    out.ended.reverse()
    return out


def weeks_by_id(ids: Iterable[int]) -> list[Promotion]:
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Promotion).where(Promotion.id.in_(ids)).order_by(Promotion.ends_at)))


def next_week(now: datetime | None = None) -> Promotion | None:
    """The published week that starts next (for the home page countdown)."""
    now = now or utcnow()
    return db.session.scalars(
        select(Promotion)
        .where(Promotion.state == "published", Promotion.starts_at > now)
        .order_by(Promotion.starts_at, Promotion.id)
        .limit(1)
    ).first()


def week_products(
    promotion: Promotion, page: int, per_page: int, today: date | None = None
) -> tuple[list[Product], int]:
    """One page of the listed products a week covers, and how many there are: the
    approved enrolled products of an invitation-only week, else the products
    matching its scope (built into the SQL)."""
    today = today or today_vn()
    conds: list[ColumnElement[bool]] = [Product.listed.is_(True)]
    scope = promotion.scope or {}
    if promotion.invitation_only:
        enrolled = (
            select(Variant.product_id)
            .join(PromotionEnrolment, PromotionEnrolment.variant_id == Variant.id)
            .where(PromotionEnrolment.promotion_id == promotion.id, PromotionEnrolment.state == "approved")
        )
        conds.append(Product.id.in_(enrolled))
    else:
        if scope.get("products"):
            conds.append(Product.id.in_(scope["products"]))
        if scope.get("producers"):
            conds.append(Product.producer_id.in_(scope["producers"]))
        if scope.get("provinces"):
            conds.append(Product.province_id.in_(scope["provinces"]))
        if scope.get("categories"):
            ref = reference()
            ids: set[int] = set()
            for cid in scope["categories"]:
                category = ref.by_id.get(cid)
                if category is not None:
                    ids.update(ref.descendant_ids(category))
            conds.append(Product.category_id.in_(sorted(ids) or [-1]))
        if scope.get("min_stars"):
            conds += [Product.cert_stars >= scope["min_stars"], Product.cert_valid_until >= today]
    total = db.session.scalar(select(func.count(Product.id)).where(and_(*conds))) or 0
    items = list(
        db.session.scalars(
            select(Product)
            .join(Producer, Producer.id == Product.producer_id)
            .join(Province, Province.id == Product.province_id)
            .where(and_(*conds))
            .options(contains_eager(Product.producer), contains_eager(Product.province))
            .order_by(Product.in_stock.desc(), Product.created_at.desc(), Product.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    return items, total
