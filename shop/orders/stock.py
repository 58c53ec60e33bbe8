"""Taking and giving back stock for orders: the one place that moves
`Variant.stock` and `PromotionEnrolment.sold` for checkout, cancellations and
expired reservations (no commit: part of the caller's transaction).

Every call locks rows in one fixed order: first the variants by id, then the
enrolments (promotional quotas) by id. Two transactions that both touch the
same rows therefore always wait for each other in the same order and never
deadlock, whichever of them takes and whichever gives back."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import update

from shop.catalog.models import Variant
from shop.extensions import db
from shop.promotions.models import PromotionEnrolment


@dataclass(frozen=True)
class Hold:
    """Units of one variant (and how many of them were sold against an enrolment's quota)."""

    variant_id: int | None
    quantity: int
    enrolment_id: int | None = None
    promo_units: int = 0


class NotEnoughStock(Exception):
    def __init__(self, variant_id: int):
        super().__init__(variant_id)
        self.variant_id = variant_id


class QuotaSoldOut(Exception):
    def __init__(self, enrolment_id: int):
        super().__init__(enrolment_id)
        self.enrolment_id = enrolment_id


@dataclass(frozen=True)
class Taken:
    """What `take` left: units in stock per variant, and promotional units per enrolment."""

    stock_left: dict[int, int]
    quota_left: dict[int, int]

    @property
    def variant_ids(self) -> list[int]:
        return list(self.stock_left)


def _totals(holds: Iterable[Hold]) -> tuple[dict[int, int], dict[int, int]]:
    units: dict[int, int] = defaultdict(int)
    quotas: dict[int, int] = defaultdict(int)
    for hold in holds:
        if hold.variant_id is not None and hold.quantity > 0:
            units[hold.variant_id] += hold.quantity
        if hold.enrolment_id is not None and hold.promo_units > 0:
            quotas[hold.enrolment_id] += hold.promo_units
    return dict(sorted(units.items())), dict(sorted(quotas.items()))


def _left(stmt) -> int | None:
    """The value the conditional UPDATE `stmt` RETURNs, or None when no row qualified."""
    return db.session.execute(stmt.execution_options(synchronize_session=False)).scalar_one_or_none()


def take(holds: Iterable[Hold]) -> Taken:
    """Take the units (only where that much is left) and the promotional quota.
    Raises NotEnoughStock or QuotaSoldOut at the first row that cannot give it;
    the caller rolls back. Returns what is left of each row taken from (read in
    the same statement, under its row lock)."""
    units, quotas = _totals(holds)
    stock_left: dict[int, int] = {}
    quota_left: dict[int, int] = {}
    for variant_id, quantity in units.items():
        left = _left(
            update(Variant)
            .where(Variant.id == variant_id, Variant.stock >= quantity)
            .values(stock=Variant.stock - quantity)
            .returning(Variant.stock)
        )
        if left is None:
            raise NotEnoughStock(variant_id)
        stock_left[variant_id] = left
    for enrolment_id, sold in quotas.items():
        left = _left(
            update(PromotionEnrolment)
            .where(
                PromotionEnrolment.id == enrolment_id,
                PromotionEnrolment.state == "approved",
                PromotionEnrolment.sold + sold <= PromotionEnrolment.quota,
            )
            .values(sold=PromotionEnrolment.sold + sold)
            .returning(PromotionEnrolment.quota - PromotionEnrolment.sold)
        )
        if left is None:
            raise QuotaSoldOut(enrolment_id)
        quota_left[enrolment_id] = left
    return Taken(stock_left, quota_left)


def give_back(holds: Iterable[Hold]) -> list[int]:
    """Return the units to stock and the promotional units to their quotas.
    Returns the variant ids given back to."""
    units, quotas = _totals(holds)
    for variant_id, quantity in units.items():
        db.session.execute(
            update(Variant)
            .where(Variant.id == variant_id)
            .values(stock=Variant.stock + quantity)
            .execution_options(synchronize_session=False)
        )
    for enrolment_id, sold in quotas.items():
        db.session.execute(
            update(PromotionEnrolment)
            .where(PromotionEnrolment.id == enrolment_id, PromotionEnrolment.sold >= sold)
            .values(sold=PromotionEnrolment.sold - sold)
            .execution_options(synchronize_session=False)
        )
    return list(units)
