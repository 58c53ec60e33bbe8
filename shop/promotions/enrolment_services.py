"""The producer's use cases for promotion weeks (/producer/khuyen-mai): the weeks
that invite it, the SKUs it may enrol, enrolling one with a promotional price
and a quota, and withdrawing a pending enrolment.
"""

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from shop.catalog.models import Category, Product, Variant
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import as_utc, today_vn, utcnow
from shop.producers.models import Producer
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.promotions.week_rules import (
    HOLDING,
    MAX_ENROLLED_DISCOUNT_PERCENT,
    PromotionError,
    _conflict,
    _money,
    invites_producer,
    scope_matches,
)


def open_invitations(producer_id: int, now: datetime | None = None) -> list[Promotion]:
    """Published invitation-only weeks not yet ended that take in this producer."""
    now = now or utcnow()
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        return []
    weeks = db.session.scalars(
        select(Promotion)
        .where(Promotion.state == "published", Promotion.invitation_only.is_(True), Promotion.ends_at > now)
        .order_by(Promotion.starts_at, Promotion.id)
    )
    return [w for w in weeks if invites_producer(w.scope, producer.id, producer.province_id)]


def _category_chain(category_id: int) -> list[int]:
    chain, current = [], db.session.get(Category, category_id)
    while current is not None:
        chain.append(current.id)
        current = db.session.get(Category, current.parent_id) if current.parent_id else None
    return chain


def _variant_in_scope(promotion: Promotion, variant: Variant, day: date) -> bool:
    product = variant.product
    return scope_matches(
        promotion.scope,
        product_id=product.id,
        producer_id=product.producer_id,
        province_id=product.province_id,
        category_ids=_category_chain(product.category_id),
        stars=product.stars_on(day),
    )


def enrolable_variants(producer_id: int, promotion: Promotion, now: datetime | None = None) -> list[Variant]:
    """The producer's SKUs of listed products that fall in the week's product rules
    and are not already offered in it (pending or approved)."""
    day = today_vn(now)
    offered = select(PromotionEnrolment.variant_id).where(
        PromotionEnrolment.promotion_id == promotion.id, PromotionEnrolment.state.in_(("pending", "approved"))
    )
    variants = db.session.scalars(
        select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.producer_id == producer_id, Product.listed.is_(True), Variant.id.not_in(offered))
        .options(contains_eager(Variant.product))
        .order_by(Product.name, Variant.position, Variant.id)
    ).all()
    return [v for v in variants if _variant_in_scope(promotion, v, day)]


def producer_enrolments(producer_id: int) -> list[PromotionEnrolment]:
    return list(
        db.session.scalars(
            select(PromotionEnrolment)
            .where(PromotionEnrolment.producer_id == producer_id)
            .options(
                selectinload(PromotionEnrolment.promotion),
                selectinload(PromotionEnrolment.variant).selectinload(Variant.product),
            )
            .order_by(PromotionEnrolment.promotion_id.desc(), PromotionEnrolment.id)
        )
    )


def enrol(
    producer_id: int,
    promotion_id: int,
    variant_id: int | None,
    promo_price: int | None,
    quota: int | None,
    now: datetime | None = None,
) -> int:
    """Offer one of the producer's SKUs for an invitation-only week at a lower
    price for at most `quota` units; the operator approves or rejects it."""
    now = now or utcnow()
    producer = db.session.get(Producer, producer_id)
    promotion = db.session.get(Promotion, promotion_id)
    if producer is None or promotion is None or promotion.state == "draft":
        raise NotFound(_("Không tìm thấy tuần lễ khuyến mãi."))
    if (
        promotion.state != "published"
        or not promotion.invitation_only
        or not invites_producer(promotion.scope, producer.id, producer.province_id)
    ):
        raise PromotionError(_("Tuần lễ này không mời gian hàng của bạn."), code="not_invited")
    if as_utc(promotion.ends_at) <= now:
        raise PromotionError(_("Tuần lễ này đã kết thúc."), code="ended")
    if variant_id is None:
        raise PromotionError(_("Chọn sản phẩm muốn đăng ký."), code="variant_required", field="variant_id")
    variant = db.session.scalars(
        select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id == variant_id, Product.producer_id == producer_id)
        .options(contains_eager(Variant.product))
    ).first()
    if variant is None:
        raise NotFound(_("Không tìm thấy sản phẩm."))
    if not variant.product.listed:
        raise PromotionError(
            _("Sản phẩm này chưa được bán trên sàn: chỉ đăng ký được sản phẩm đang bán."),
            code="not_listed",
            field="variant_id",
        )
    if not _variant_in_scope(promotion, variant, today_vn(now)):
        raise PromotionError(
            _("Sản phẩm này không thuộc phạm vi của tuần lễ."), code="out_of_scope", field="variant_id"
        )
    if promo_price is None:
        raise PromotionError(_("Nhập giá khuyến mãi."), code="price_required", field="promo_price")
    if not isinstance(promo_price, int) or isinstance(promo_price, bool) or promo_price <= 0:
        raise PromotionError(_("Giá khuyến mãi phải là số tiền lớn hơn 0 ₫."), code="bad_price", field="promo_price")
    if promo_price >= variant.price:
        raise PromotionError(
            _("Giá khuyến mãi phải thấp hơn giá bán hiện tại (%(price)s).", price=_money(variant.price)),
            code="price_not_lower",
            field="promo_price",
        )
    floor = -(-variant.price * (100 - MAX_ENROLLED_DISCOUNT_PERCENT) // 100)
    if promo_price < floor:
        # Most often a missing zero (1.000 for 100.000): refused rather than sold at a loss.
        raise PromotionError(
            _(
                "Giá khuyến mãi thấp bất thường: giảm tối đa %(n)s%%, tức giá từ %(floor)s trở lên.",
                n=MAX_ENROLLED_DISCOUNT_PERCENT,
                floor=_money(floor),
            ),
            code="price_too_low",
            field="promo_price",
        )
    if quota is None:
        raise PromotionError(_("Nhập số suất khuyến mãi."), code="quota_required", field="quota")
    if not isinstance(quota, int) or isinstance(quota, bool) or quota <= 0:
        raise PromotionError(_("Số suất phải từ 1 trở lên."), code="bad_quota", field="quota")
    if quota > variant.stock:
        raise PromotionError(
            _("Số suất (%(quota)s) lớn hơn tồn kho hiện có (%(stock)s).", quota=quota, stock=variant.stock),
            code="quota_above_stock",
            field="quota",
        )
    existing = db.session.scalars(
        select(PromotionEnrolment).where(
            PromotionEnrolment.promotion_id == promotion.id, PromotionEnrolment.variant_id == variant.id
        )
    ).first()
    if existing is not None and existing.state in HOLDING:
        raise PromotionError(_("SKU này đã được đăng ký cho tuần lễ này."), code="already_enrolled", field="variant_id")
    clash = _conflict(promotion.id, as_utc(promotion.starts_at), as_utc(promotion.ends_at), set(), {variant.id})
    if clash:
        raise PromotionError(clash, code="overlap", field="variant_id")
    if existing is None:
        existing = PromotionEnrolment(promotion_id=promotion.id, producer_id=producer_id, variant_id=variant.id)
        db.session.add(existing)
    existing.promo_price = promo_price
    existing.quota = quota
    existing.sold = 0
    existing.state = "pending"
    existing.reason = ""
    existing.decided_at = None
    existing.created_at = now
    db.session.commit()
    return existing.id


def withdraw_enrolment(producer_id: int, enrolment_id: int) -> None:
    """Take back an offer the operator has not decided yet."""
    enrolment = db.session.scalars(
        select(PromotionEnrolment).where(
            PromotionEnrolment.id == enrolment_id, PromotionEnrolment.producer_id == producer_id
        )
    ).first()
    if enrolment is None:
        raise NotFound(_("Không tìm thấy đăng ký."))
    if enrolment.state != "pending":
        raise PromotionError(_("Chỉ rút được đăng ký đang chờ duyệt."), code="not_pending")
    enrolment.state = "withdrawn"
    enrolment.decided_at = utcnow()
    db.session.commit()
