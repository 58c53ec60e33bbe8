from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import Model

ZONES = ("same_province", "same_region", "elsewhere")
ZONE_LABELS = {
    "same_province": _l("Nội tỉnh"),
    "same_region": _l("Nội vùng"),
    "elsewhere": _l("Liên vùng"),
}


class ShippingRate(Model):
    """Fee for a parcel up to `max_weight_grams` in a zone; the first row that fits applies.
    Heavier parcels pay the heaviest row plus `extra_per_kg` for each started kilogram above it."""

    __table_args__ = (
        UniqueConstraint("zone", "max_weight_grams", name="uq_shipping_rate_zone_weight"),
        CheckConstraint("zone IN ('same_province', 'same_region', 'elsewhere')", name="zone"),
        CheckConstraint("fee >= 0 AND extra_per_kg >= 0 AND max_weight_grams > 0", name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(16))
    max_weight_grams: Mapped[int] = mapped_column()
    fee: Mapped[int] = mapped_column()
    extra_per_kg: Mapped[int] = mapped_column(default=0)
