"""Promotional prices, computed from the active promotions when a price is read.

Nothing rewrites a price at a week's start or end: every page, the cart, the
checkout and the API ask this module, with the current instant, which
promotions are running and what each gives a SKU. The published schedule and
the active promotions are kept in each process until a promotion change purges
``promo`` (or a quota moves: ``quota``); which promotions are active is decided
from the schedule at the instant of the request, so a week starts and ends on
its exact second, and
page cache key carries the active set (`state_token`)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select

from shop.cache import LocalMemo
from shop.catalog.models import Product, Variant
from shop.catalog.reference import reference
from shop.extensions import db
from shop.formatting import as_utc, today_vn, utcnow
from shop.promotions import rules
from shop.promotions.models import Promotion, PromotionEnrolment


@dataclass(frozen=True)
class ActivePromotion:
    id: int
    slug: str
    name: str
    kind: str
    value: int
    max_discount: int | None
    invitation_only: bool
    operator_share: int
    starts_at: datetime
    ends_at: datetime
    products: frozenset[int] = frozenset()
    producers: frozenset[int] = frozenset()
    provinces: frozenset[int] = frozenset()
    categories: frozenset[int] = frozenset()  # the chosen groups and everything under them
    min_stars: int | None = None
    # variant id -> (enrolment id, promotional price, units left)
    enrolled: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    def covers(self, facts: "VariantFacts") -> bool:
        """Whether the week's scope takes in this SKU (enrolment aside)."""
        return (
            (not self.products or facts.product_id in self.products)
            and (not self.producers or facts.producer_id in self.producers)
            and (not self.provinces or facts.province_id in self.provinces)
            and (not self.categories or facts.category_id in self.categories)
            and (self.min_stars is None or (facts.stars or 0) >= self.min_stars)
        )

    def deal_for(self, facts: "VariantFacts") -> tuple[rules.Deal, int | None] | None:
        if self.invitation_only:
            enrolled = self.enrolled.get(facts.variant_id)
            if enrolled is None:
                return None
            enrolment_id, promo_price, left = enrolled
            off = rules.enrolled_discount(facts.price, promo_price)
            return rules.Deal(self.id, off, left, self.operator_share), enrolment_id
        if not self.covers(facts):
            return None
        off = rules.unit_discount(facts.price, self.kind, self.value, self.max_discount)
        return rules.Deal(self.id, off, None, self.operator_share), None


@dataclass(frozen=True)
class VariantFacts:
    """What decides a SKU's promotions: its price and its product's place in the catalog."""

    variant_id: int
    price: int
    product_id: int
    producer_id: int
    province_id: int
    category_id: int
    stars: int | None


@dataclass(frozen=True)
class Offer:
    """The best promotion for one SKU now."""

    promotion_id: int
    promotion_name: str
    promotion_slug: str
    price: int  # the normal price
    unit_discount: int
    units_left: int | None  # quota left at this price (None: no quota)
    operator_share: int
    enrolment_id: int | None
    ends_at: datetime

    @property
    def promo_price(self) -> int:
        return self.price - self.unit_discount

    @property
    def percent(self) -> int:
        """The saving in whole percent, for the "-20%" tag (rounded, at least 1)."""
        return max(1, round(self.unit_discount * 100 / self.price)) if self.price else 0

    @property
    def deal(self) -> rules.Deal:
        return rules.Deal(self.promotion_id, self.unit_discount, self.units_left, self.operator_share)


# --- which promotions run now -------------------------------------------------------


_schedule_memo = LocalMemo("promotion-schedule", ("promo",))
_active_memo = LocalMemo("active-promotions", ("promo", "quota"))


def _schedule() -> list[tuple[int, datetime, datetime]]:
    return _schedule_memo.get(
        lambda: [
            (pid, as_utc(start), as_utc(end))
            for pid, start, end in db.session.execute(
                select(Promotion.id, Promotion.starts_at, Promotion.ends_at)
                .where(Promotion.state == "published")
                .order_by(Promotion.starts_at, Promotion.id)
            )
        ]
    )


def active_ids(now: datetime | None = None) -> tuple[int, ...]:
    """Published promotions with starts_at <= now < ends_at."""
    now = as_utc(now) or utcnow()
    return tuple(pid for pid, start, end in _schedule() if start <= now < end)


def next_boundary(now: float) -> float | None:
    """The next instant (epoch seconds) after `now` at which a published week
    starts or ends: what a page shows of promotions is valid until then."""
    edges = [
        moment.timestamp() for _pid, start, end in _schedule() for moment in (start, end) if moment.timestamp() > now
    ]
    return min(edges) if edges else None


def next_start(now: datetime | None = None) -> datetime | None:
    """When the next published week begins (for the home page countdown)."""
    now = as_utc(now) or utcnow()
    starts = [start for _pid, start, _end in _schedule() if start > now]
    return min(starts) if starts else None


def _load(ids: tuple[int, ...]) -> list[ActivePromotion]:
    ref = reference()
    promotions = db.session.scalars(select(Promotion).where(Promotion.id.in_(ids)).order_by(Promotion.id)).all()
    enrolled: dict[int, dict[int, tuple[int, int, int]]] = {pid: {} for pid in ids}
    for row in db.session.execute(
        select(
            PromotionEnrolment.promotion_id,
            PromotionEnrolment.variant_id,
            PromotionEnrolment.id,
            PromotionEnrolment.promo_price,
            PromotionEnrolment.quota - PromotionEnrolment.sold,
        ).where(PromotionEnrolment.promotion_id.in_(ids), PromotionEnrolment.state == "approved")
    ):
        enrolled[row[0]][row[1]] = (row[2], row[3], row[4])
    out = []
    for p in promotions:
        scope = p.scope or {}
        categories: set[int] = set()
        for cid in scope.get("categories") or ():
            category = ref.by_id.get(cid)
            if category is not None:
                categories.update(ref.descendant_ids(category))
        out.append(
            ActivePromotion(
                id=p.id,
                slug=p.slug,
                name=p.name,
                kind=p.kind,
                value=p.value,
                max_discount=p.max_discount,
                invitation_only=p.invitation_only,
                operator_share=p.operator_share,
                starts_at=as_utc(p.starts_at),
                ends_at=as_utc(p.ends_at),
                products=frozenset(scope.get("products") or ()),
                producers=frozenset(scope.get("producers") or ()),
                provinces=frozenset(scope.get("provinces") or ()),
                categories=frozenset(categories),
                min_stars=scope.get("min_stars") or None,
                enrolled=enrolled[p.id],
            )
        )
    return out


def active_promotions(now: datetime | None = None) -> list[ActivePromotion]:
    ids = active_ids(now)
    if not ids:
        return []
    return _active_memo.get(lambda: _load(ids), variant=ids)


# --- offers ---------------------------------------------------------------------------


def best_offers(variants: Iterable[VariantFacts], now: datetime | None = None) -> dict[int, Offer]:
    """variant id -> the best single promotion for it now (absent: normal price)."""
    running = active_promotions(now)
    if not running:
        return {}
    out: dict[int, Offer] = {}
    for facts in variants:
        candidates: list[tuple[rules.Deal, int | None, ActivePromotion]] = []
        for promotion in running:
            found = promotion.deal_for(facts)
            if found is not None:
                candidates.append((*found, promotion))
        best = rules.best_deal([deal for deal, _e, _p in candidates])
        if best is None:
            continue
        deal, enrolment_id, promotion = next(c for c in candidates if c[0] is best)
        out[facts.variant_id] = Offer(
            promotion_id=promotion.id,
            promotion_name=promotion.name,
            promotion_slug=promotion.slug,
            price=facts.price,
            unit_discount=deal.unit_discount,
            units_left=deal.units_left,
            operator_share=promotion.operator_share,
            enrolment_id=enrolment_id,
            ends_at=promotion.ends_at,
        )
    return out


def facts_of(variant: Variant, product: Product, day=None) -> VariantFacts:
    return VariantFacts(
        variant.id,
        variant.price,
        product.id,
        product.producer_id,
        product.province_id,
        product.category_id,
        product.stars_on(day or today_vn()),
    )


def variant_offers(product: Product, now: datetime | None = None) -> dict[int, Offer]:
    """The product page's offers, per variant."""
    if not active_ids(now):
        return {}
    day = today_vn(now)
    return best_offers((facts_of(v, product, day) for v in product.variants), now)


@dataclass(frozen=True)
class CardOffer:
    """What a product card shows during a promotion: the lowest promotional price
    of the product's SKUs, next to the lowest normal price."""

    price: int
    promo_price: int
    offer: Offer

    @property
    def percent(self) -> int:
        return max(1, round((self.price - self.promo_price) * 100 / self.price)) if self.price else 0


class CardProduct(Protocol):
    """What card_offers reads of a product: a Product, or the catalog's ProductCard."""

    @property
    def id(self) -> int: ...
    @property
    def producer_id(self) -> int: ...
    @property
    def province_id(self) -> int: ...
    @property
    def category_id(self) -> int: ...
    @property
    def min_price(self) -> int: ...
    def stars_on(self, day: date) -> int | None: ...


def card_offers(products: Iterable[CardProduct], now: datetime | None = None) -> dict[int, CardOffer]:
    """product id -> its card's promotion (only products with one)."""
    products = list(products)
    if not products or not active_ids(now):
        return {}
    by_id = {p.id: p for p in products}
    day = today_vn(now)
    rows = db.session.execute(
        select(Variant.id, Variant.product_id, Variant.price).where(Variant.product_id.in_(by_id))
    ).all()
    facts = []
    for vid, pid, price in rows:
        p = by_id[pid]
        facts.append(VariantFacts(vid, price, pid, p.producer_id, p.province_id, p.category_id, p.stars_on(day)))
    offers = best_offers(facts, now)
    out: dict[int, CardOffer] = {}
    for vid, pid, _price in rows:
        offer = offers.get(vid)
        if offer is None:
            continue
        current = out.get(pid)
        if current is None or offer.promo_price < current.promo_price:
            out[pid] = CardOffer(by_id[pid].min_price, offer.promo_price, offer)
    return out
