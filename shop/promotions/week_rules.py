"""Promotion weeks: the refusal they raise, their states and the pure rules the
operator's, the producer's and the storefront's modules share (overlap, scope,
which SKUs a week already holds).

Times come in as aware datetimes (the forms read Vietnam local time, see
`shop.formatting.parse_vn_datetime`) and are stored in UTC; a week runs while
starts_at <= now < ends_at.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from shop.catalog.models import Product, Variant
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.promotions.models import Promotion, PromotionEnrolment

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

LIVE_STATES = ("draft", "published")  # weeks whose products may not overlap

HOLDING = ("pending", "approved")  # enrolments that hold a SKU

# An enrolled price may take at most this much off the normal price.
MAX_ENROLLED_DISCOUNT_PERCENT = 90


class PromotionError(ShopError):
    """A refusal about one field of a form (`field`), or the form as a whole (None)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


@dataclass
class WeekGroups:
    upcoming: list[Promotion] = field(default_factory=list)
    running: list[Promotion] = field(default_factory=list)
    ended: list[Promotion] = field(default_factory=list)
    pending: dict[int, int] = field(default_factory=dict)  # promotion id -> pending enrolments


def overlaps(start_a: datetime, end_a: datetime, start_b: datetime, end_b: datetime) -> bool:
    """Whether two half-open periods [start, end) share an instant."""
    return as_utc(start_a) < as_utc(end_b) and as_utc(start_b) < as_utc(end_a)


def week_status(promotion: Promotion, now: datetime | None = None) -> str:
    """draft, cancelled, upcoming, running or ended, as the operator reads it."""
    if promotion.state in ("draft", "cancelled"):
        return promotion.state
    now = now or utcnow()
    if now < as_utc(promotion.starts_at):
        return "upcoming"
    if now < as_utc(promotion.ends_at):
        return "running"
    return "ended"


def scope_matches(
    scope: dict | None,
    *,
    product_id: int,
    producer_id: int,
    province_id: int,
    category_ids: Iterable[int],
    stars: int | None,
) -> bool:
    """Whether a product falls in a week's scope. `category_ids` are the
    product's category and its ancestors (choosing a group takes in everything
    under it); an empty or absent entry does not limit."""
    scope = scope or {}
    if scope.get("products") and product_id not in scope["products"]:
        return False
    if scope.get("producers") and producer_id not in scope["producers"]:
        return False
    if scope.get("provinces") and province_id not in scope["provinces"]:
        return False
    if scope.get("categories") and not set(scope["categories"]) & set(category_ids):
        return False
    min_stars = scope.get("min_stars")
    return not (min_stars and (stars or 0) < min_stars)


def invites_producer(scope: dict | None, producer_id: int, province_id: int) -> bool:
    """Whether an invitation-only week is open to this producer."""
    scope = scope or {}
    return (not scope.get("producers") or producer_id in scope["producers"]) and (
        not scope.get("provinces") or province_id in scope["provinces"]
    )


def describe_rule(kind: str, value: int, max_discount: int | None) -> dict:
    """The parts of a week's discount rule, for templates to word."""
    return {"kind": kind, "value": value, "cap": max_discount}


def get_week(promotion_id: int) -> Promotion:
    promotion = db.session.get(Promotion, promotion_id)
    if promotion is None:
        raise NotFound(_("Không tìm thấy tuần lễ khuyến mãi."))
    return promotion


def _held(promotion_id: int) -> tuple[set[int], set[int]]:
    """(product ids chosen, variant ids enrolled and pending or approved) of a week."""
    promotion = db.session.get(Promotion, promotion_id)
    products = set((promotion.scope or {}).get("products") or ()) if promotion else set()
    variants = set(
        db.session.scalars(
            select(PromotionEnrolment.variant_id).where(
                PromotionEnrolment.promotion_id == promotion_id, PromotionEnrolment.state.in_(HOLDING)
            )
        )
    )
    return products, variants


def _conflict(
    promotion_id: int | None, starts_at: datetime, ends_at: datetime, products: set[int], variants: set[int]
) -> str | None:
    """A message when one of these products or SKUs is already in another draft or
    published week whose time overlaps [starts_at, ends_at); None otherwise."""
    if not products and not variants:
        return None
    others = db.session.scalars(
        select(Promotion).where(
            Promotion.state.in_(LIVE_STATES),
            Promotion.starts_at < ends_at,
            Promotion.ends_at > starts_at,
            *([Promotion.id != promotion_id] if promotion_id is not None else []),
        )
    ).all()
    if not others:
        return None
    variant_products = (
        dict(db.session.execute(select(Variant.id, Variant.product_id).where(Variant.id.in_(variants))).tuples().all())
        if variants
        else {}
    )
    for other in others:
        other_products, other_variants = _held(other.id)
        other_variant_products = (
            set(db.session.scalars(select(Variant.product_id).where(Variant.id.in_(other_variants))))
            if other_variants
            else set()
        )
        clash_products = (products & (other_products | other_variant_products)) | (
            set(variant_products.values()) & other_products
        )
        clash_variants = variants & other_variants
        if clash_variants:
            variant = db.session.get_one(Variant, min(clash_variants))  # held by a week: it exists
            return _(
                "SKU %(sku)s đã có trong tuần lễ “%(week)s” diễn ra trùng thời gian.", sku=variant.sku, week=other.name
            )
        if clash_products:
            product = db.session.get_one(Product, min(clash_products))  # held by a week: it exists
            return _(
                "Sản phẩm “%(product)s” đã có trong tuần lễ “%(week)s” diễn ra trùng thời gian.",
                product=product.name,
                week=other.name,
            )
    return None


def _commit_week_change(promotion: Promotion) -> None:
    """Commit; a published week may cover any product, so its changes purge every
    cached page that shows prices (shop.catalog.changes)."""
    db.session.commit()


def _money(amount: int) -> str:
    from flask_babel import get_locale

    from shop.formatting import vnd

    try:
        return vnd(amount, str(get_locale()))
    except Exception:  # noqa: BLE001 - outside a request: the default language
        return vnd(amount)
