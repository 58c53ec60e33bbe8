"""Promotion weeks, producers' enrolments in them, and vouchers.

Prices are never rewritten by a promotion: the promotional price is computed
from the active promotions whenever a price is read (shop.promotions.pricing),
so a week starts and ends on its exact second everywhere."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.catalog.models import Variant
    from shop.producers.models import Producer


DISCOUNT_KINDS = ("percent", "fixed")
PROMOTION_STATES = ("draft", "published", "cancelled")
ENROLMENT_STATES = ("pending", "approved", "rejected", "withdrawn")


class Promotion(Model):
    """A time-boxed promotion week, active while starts_at <= now < ends_at.

    `scope` limits which products it covers: {"products": [ids], "producers":
    [ids], "provinces": [ids], "categories": [ids], "min_stars": n}; an absent or
    empty entry does not limit. An invitation-only week covers only the SKUs its
    producers enrolled and the operator approved, at their enrolled price."""

    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind"),
        CheckConstraint("state IN ('draft', 'published', 'cancelled')", name="state"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "(kind = 'percent' AND value BETWEEN 1 AND 99) OR (kind = 'fixed' AND value > 0)", name="value"
        ),
        CheckConstraint("max_discount IS NULL OR max_discount > 0", name="cap"),
        CheckConstraint("operator_share BETWEEN 0 AND 100", name="operator_share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    banner_path: Mapped[str | None] = mapped_column(String(200))  # under MEDIA_DIR
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column()  # percent (1-99) or đồng off each unit
    max_discount: Mapped[int | None] = mapped_column()  # cap in đồng per unit
    scope: Mapped[dict] = mapped_column(JSON, default=dict)
    invitation_only: Mapped[bool] = mapped_column(default=False)
    # Percent of every discount the marketplace pays; the producer pays the rest.
    operator_share: Mapped[int] = mapped_column(default=100)
    state: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    enrolments: Mapped[list["PromotionEnrolment"]] = relationship(
        back_populates="promotion", order_by="PromotionEnrolment.id"
    )


class PromotionEnrolment(Model):
    """A producer's offer of one SKU for an invitation-only week: a promotional
    price for at most `quota` units. Units sold at that price are counted in
    `sold` by a conditional UPDATE at checkout, so the quota is never exceeded."""

    __table_args__ = (
        UniqueConstraint("promotion_id", "variant_id", name="uq_promotion_enrolment_promotion_variant"),
        CheckConstraint("state IN ('pending', 'approved', 'rejected', 'withdrawn')", name="state"),
        CheckConstraint("promo_price > 0", name="promo_price_positive"),
        CheckConstraint("quota > 0 AND sold >= 0 AND sold <= quota", name="quota"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotion.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    promo_price: Mapped[int] = mapped_column()
    quota: Mapped[int] = mapped_column()
    sold: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # why rejected
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    promotion: Mapped[Promotion] = relationship(back_populates="enrolments")
    producer: Mapped["Producer"] = relationship()  # noqa: F821
    variant: Mapped["Variant"] = relationship()  # noqa: F821


class Voucher(Model):
    """A code a shopper types at checkout: one per order, on what is left after
    the line promotions. `used_count` is raised by a conditional UPDATE when an
    order takes it, so `usage_limit` holds under concurrent checkouts. Vouchers
    are paid for by the marketplace."""

    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind"),
        CheckConstraint(
            "(kind = 'percent' AND value BETWEEN 1 AND 100) OR (kind = 'fixed' AND value > 0)", name="value"
        ),
        CheckConstraint("max_discount IS NULL OR max_discount > 0", name="cap"),
        CheckConstraint("min_order >= 0", name="min_order"),
        CheckConstraint("usage_limit IS NULL OR usage_limit > 0", name="usage_limit"),
        CheckConstraint("per_customer_limit IS NULL OR per_customer_limit > 0", name="per_customer_limit"),
        CheckConstraint("used_count >= 0 AND (usage_limit IS NULL OR used_count <= usage_limit)", name="used_count"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # upper case
    description: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column()
    max_discount: Mapped[int | None] = mapped_column()
    min_order: Mapped[int] = mapped_column(default=0)
    usage_limit: Mapped[int | None] = mapped_column()
    per_customer_limit: Mapped[int | None] = mapped_column()
    used_count: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    scope: Mapped[dict] = mapped_column(JSON, default=dict)  # as Promotion.scope
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherRedemption(Model):
    """A voucher taken by one order; released (and its use given back) if the
    order is cancelled before it is paid or delivered."""

    __table_args__ = (CheckConstraint("amount >= 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("voucher.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    amount: Mapped[int] = mapped_column()
    released: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    voucher: Mapped[Voucher] = relationship()
