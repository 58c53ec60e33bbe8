"""Pure shipping rules: the zone between two provinces and the fee for a parcel."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    zone: str
    max_weight_grams: int
    fee: int
    extra_per_kg: int = 0


# Working days from hand-over to the carrier until delivery, by zone: the one place the
# estimate shown next to each shop's shipping fee ("Dự kiến giao 2–4 ngày") comes from.
DELIVERY_DAYS = {"same_province": (1, 2), "same_region": (2, 4), "elsewhere": (3, 6)}


def delivery_days(zone: str | None) -> tuple[int, int] | None:
    """The (fewest, most) days a parcel takes within `zone`, or None if it is unknown."""
    return DELIVERY_DAYS.get(zone) if zone else None


def zone_between(origin_province_id: int, origin_region: str, dest_province_id: int, dest_region: str) -> str:
    if origin_province_id == dest_province_id:
        return "same_province"
    if origin_region and origin_region == dest_region:
        return "same_region"
    return "elsewhere"


def parcel_fee(zone: str, weight_grams: int, rates: list[Rate]) -> int:
    """The fee of the lightest band that holds the parcel; above the heaviest band,
    that band's fee plus `extra_per_kg` for each started kilogram over it."""
    bands = sorted((r for r in rates if r.zone == zone), key=lambda r: r.max_weight_grams)
    if not bands:
        raise ValueError(f"no shipping rates for zone {zone!r}")
    for band in bands:
        if weight_grams <= band.max_weight_grams:
            return band.fee
    top = bands[-1]
    extra_kg = -(-(weight_grams - top.max_weight_grams) // 1000)
    return top.fee + extra_kg * top.extra_per_kg


def shipping_fee(zone: str, weight_grams: int, subtotal: int, rates: list[Rate], free_threshold: int | None) -> int:
    """What one producer's sub-order pays for delivery (0 at or above its free threshold)."""
    if free_threshold is not None and subtotal >= free_threshold:
        return 0
    return parcel_fee(zone, weight_grams, rates)


DEFAULT_RATES = [
    Rate("same_province", 1000, 18_000),
    Rate("same_province", 3000, 25_000),
    Rate("same_province", 5000, 32_000, extra_per_kg=5_000),
    Rate("same_region", 1000, 25_000),
    Rate("same_region", 3000, 35_000),
    Rate("same_region", 5000, 45_000, extra_per_kg=7_000),
    Rate("elsewhere", 1000, 35_000),
    Rate("elsewhere", 3000, 50_000),
    Rate("elsewhere", 5000, 65_000, extra_per_kg=10_000),
]
