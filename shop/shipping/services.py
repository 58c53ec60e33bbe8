"""Shipping rates from the database (editable by operators), with defaults."""

from sqlalchemy import select

from shop.extensions import db
from shop.shipping.models import ShippingRate
from shop.shipping.rules import DEFAULT_RATES, Rate


def upsert_default_rates() -> int:
    """Give a fresh database the default rate table (no commit); existing rows are kept."""
    if db.session.scalar(select(ShippingRate.id).limit(1)) is not None:
        return 0
    for r in DEFAULT_RATES:
        db.session.add(
            ShippingRate(zone=r.zone, max_weight_grams=r.max_weight_grams, fee=r.fee, extra_per_kg=r.extra_per_kg)
        )
    return len(DEFAULT_RATES)


def current_rates() -> list[Rate]:
    return [
        Rate(r.zone, r.max_weight_grams, r.fee, r.extra_per_kg)
        for r in db.session.scalars(select(ShippingRate).order_by(ShippingRate.zone, ShippingRate.max_weight_grams))
    ]
