"""Pricing rules as pure functions of whole đồng: no database, no clock.

The combination rule: each line gets the best single promotion on offer for
it (never two stacked), then at most one voucher applies to what is left of
the eligible lines. Shipping is never discounted, so an order's total can
never go below its shipping fee, nor below zero."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Deal:
    """One promotion's offer on one SKU: a discount per unit, for at most
    `units_left` units (None: no quota)."""

    promotion_id: int
    unit_discount: int
    units_left: int | None = None
    operator_share: int = 100  # percent of the discount the marketplace funds


def unit_discount(price: int, kind: str, value: int, cap: int | None = None) -> int:
    """What a percent or fixed discount takes off one unit of `price`: whole
    đồng rounded down, never above the cap, never above the price."""
    if price <= 0 or value <= 0:
        return 0
    off = price * value // 100 if kind == "percent" else value
    if cap is not None:
        off = min(off, cap)
    return max(0, min(off, price))


def enrolled_discount(price: int, promo_price: int) -> int:
    """An enrolled SKU's discount per unit: its price less the promotional price
    (nothing if the price has since dropped below it)."""
    return max(0, price - promo_price)


def best_deal(deals: Sequence[Deal]) -> Deal | None:
    """The single promotion giving the largest discount per unit (the earliest
    promotion on a tie); deals with nothing left to give are ignored."""
    usable = [d for d in deals if d.unit_discount > 0 and (d.units_left is None or d.units_left > 0)]
    if not usable:
        return None
    return min(usable, key=lambda d: (-d.unit_discount, d.promotion_id))


def promo_units(quantity: int, deal: Deal | None) -> int:
    """How many of `quantity` units get the deal: the rest pay the normal price."""
    if deal is None or quantity <= 0:
        return 0
    return quantity if deal.units_left is None else max(0, min(quantity, deal.units_left))


def line_promo_discount(quantity: int, deal: Deal | None) -> int:
    return promo_units(quantity, deal) * (deal.unit_discount if deal else 0)


def voucher_discount(eligible: int, kind: str, value: int, cap: int | None = None) -> int:
    """A voucher's discount on the eligible amount (after line promotions):
    never more than that amount, so it cannot push anything below zero."""
    if eligible <= 0 or value <= 0:
        return 0
    off = eligible * value // 100 if kind == "percent" else value
    if cap is not None:
        off = min(off, cap)
    return max(0, min(off, eligible))


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to `weights` in whole đồng (largest
    remainder): the parts add up to `amount` exactly and none exceeds its weight
    when `amount` <= sum(weights)."""
    total = sum(weights)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    parts = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[: amount - sum(parts)]:
        parts[i] += 1
    return parts


CASH_UNIT = 1_000  # what a courier collects is counted in thousands of đồng


def allocate_by_group(amount: int, weights: Sequence[int], groups: Sequence[object]) -> tuple[int, list[int]]:
    """Split a discount over lines that belong to groups (the shops of an order).

    When every group's weight is a whole number of thousands (its prices are),
    the discount is rounded down to whole thousands and each group gets whole
    thousands, so the amount each shop collects stays whole thousands; within
    a group its share is spread over its lines in whole đồng. Otherwise it is
    spread over the lines directly. Returns (the discount given, the lines' parts)."""
    by_group: dict[object, int] = {}
    for weight, group in zip(weights, groups, strict=True):
        by_group[group] = by_group.get(group, 0) + weight
    if not all(total % CASH_UNIT == 0 for total in by_group.values()):
        return amount, allocate(amount, weights)
    keys = list(by_group)
    units = allocate(amount // CASH_UNIT, [by_group[k] // CASH_UNIT for k in keys])
    parts = [0] * len(weights)
    for key, group_units in zip(keys, units, strict=True):
        members = [i for i, g in enumerate(groups) if g == key]
        for i, part in zip(members, allocate(group_units * CASH_UNIT, [weights[i] for i in members]), strict=True):
            parts[i] = part
    return sum(parts), parts


def split_funding(discount: int, operator_share: int) -> tuple[int, int]:
    """(operator-funded, producer-funded) parts of a discount; the operator's part
    is rounded down so the two always add up to the discount."""
    operator = discount * operator_share // 100
    return operator, discount - operator


def commission(base: int, rate_bp: int) -> int:
    """Commission on `base` đồng at `rate_bp` basis points, rounded half up."""
    if base <= 0 or rate_bp <= 0:
        return 0
    return (base * rate_bp + 5_000) // 10_000


@dataclass(frozen=True)
class Earning:
    gross: int  # original price × units
    producer_funded: int
    operator_funded: int
    commission: int

    @property
    def net(self) -> int:
        """What the producer is owed: the price the shopper paid, plus the part of
        the discount the marketplace funds, less commission. Equivalently, the
        original price less the producer's own share of the discount, less
        commission. Commission is taken on the producer's revenue (gross less its
        own share), so a marketplace-funded discount does not lower it."""
        return self.gross - self.producer_funded - self.commission


def line_earning(
    unit_price: int, quantity: int, discount: int, operator_funded: int, rate_bp: int, kept: int | None = None
) -> Earning:
    """A delivered line's earning for `kept` of its `quantity` units (default:
    all), each part pro rata."""
    kept = quantity if kept is None else kept
    if quantity <= 0 or kept <= 0:
        return Earning(0, 0, 0, 0)
    gross = unit_price * kept
    disc = discount * kept // quantity
    op = min(disc, operator_funded * kept // quantity)
    producer_funded = disc - op
    return Earning(gross, producer_funded, op, commission(gross - producer_funded, rate_bp))


def reversal_due(earned: int, paid: int, refunded: int, reversed_so_far: int) -> int:
    """The (negative) entry that brings what was reversed to the refunded share
    of the earning: cumulative, so repeated refunds never drift and a full
    refund brings the earning back to exactly zero."""
    if earned == 0 or paid <= 0:
        return 0
    refunded = max(0, min(refunded, paid))
    target = (earned * refunded * 2 + paid) // (paid * 2)  # rounded half up
    return -(target - reversed_so_far)


def balance(entries: Sequence[int]) -> int:
    return sum(entries)
