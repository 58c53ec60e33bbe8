"""Shipping rates from the database (editable by operators), with defaults."""

from flask_babel import gettext as _
from sqlalchemy import select

from shop.audit.services import record
from shop.errors import ShopError
from shop.extensions import db
from shop.shipping.models import ZONES, ShippingRate
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


# --- operators' changes ---------------------------------------------------------------

MAX_BAND_GRAMS = 1_000_000  # one tonne: far above any parcel
MAX_FEE = 100_000_000


class RateTableError(ShopError):
    """A rate table the operator must correct; `zone` names the table at fault."""

    code = "bad_rates"

    def __init__(self, message: str, *, zone: str | None = None):
        super().__init__(message)
        self.zone = zone


def rate_table() -> dict[str, list[Rate]]:
    """The bands of each zone, lightest first (every zone present, maybe empty)."""
    table: dict[str, list[Rate]] = {zone: [] for zone in ZONES}
    for rate in current_rates():
        table.setdefault(rate.zone, []).append(rate)
    for bands in table.values():
        bands.sort(key=lambda r: r.max_weight_grams)
    return table


def _as_json(rates: list[Rate]) -> dict[str, int]:
    """The table as the audit log keeps it: one "zone:grams" key per band (and
    "zone:extra" for the heaviest band's fee per extra kilogram)."""
    out: dict[str, int] = {}
    for r in rates:
        out[f"{r.zone}:{r.max_weight_grams}"] = r.fee
    for zone in ZONES:
        heaviest = max((r for r in rates if r.zone == zone), key=lambda r: r.max_weight_grams, default=None)
        if heaviest is not None:
            out[f"{zone}:extra"] = heaviest.extra_per_kg
    return out


def replace_rates(actor_id: int, rates: list[Rate]) -> bool:
    """Make `rates` the whole rate table, audited with the table before and after.
    Each zone keeps at least one band; within a zone no two bands end at the same
    weight (the bands are "up to" weights, so distinct ends never overlap); fees
    are whole đồng, not negative. Returns whether anything changed."""
    by_zone: dict[str, list[Rate]] = {zone: [] for zone in ZONES}
    for r in rates:
        if r.zone not in by_zone:
            raise RateTableError(_("Vùng giao hàng không hợp lệ."))
        for value in (r.max_weight_grams, r.fee, r.extra_per_kg):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RateTableError(_("Khối lượng và phí phải là số nguyên không âm."), zone=r.zone)
        if not 0 < r.max_weight_grams <= MAX_BAND_GRAMS:
            raise RateTableError(_("Khối lượng tối đa của mỗi mức phải từ 1 đến 1.000.000 gam."), zone=r.zone)
        if r.fee > MAX_FEE or r.extra_per_kg > MAX_FEE:
            raise RateTableError(_("Phí quá lớn: tối đa 100.000.000 đ."), zone=r.zone)
        by_zone[r.zone].append(r)
    for zone, bands in by_zone.items():
        if not bands:
            raise RateTableError(_("Mỗi vùng cần ít nhất một mức phí."), zone=zone)
        weights = [b.max_weight_grams for b in bands]
        if len(set(weights)) != len(weights):
            raise RateTableError(_("Hai mức phí trong cùng một vùng không được có cùng khối lượng tối đa."), zone=zone)
        fees = [b.fee for b in sorted(bands, key=lambda b: b.max_weight_grams)]
        if any(lighter > heavier for lighter, heavier in zip(fees, fees[1:], strict=False)):
            raise RateTableError(
                _("Gói nặng hơn không được có phí thấp hơn gói nhẹ hơn trong cùng một vùng."), zone=zone
            )
    before = [r for zone in ZONES for r in rate_table()[zone]]
    after = [r for zone in ZONES for r in sorted(by_zone[zone], key=lambda b: b.max_weight_grams)]
    if before == after:
        return False
    # Replaced as a whole: updating rows in place could pass through a duplicate
    # (zone, weight) pair when two bands swap their ends.
    for row in db.session.scalars(select(ShippingRate)):
        db.session.delete(row)
    db.session.flush()
    for r in after:
        db.session.add(
            ShippingRate(zone=r.zone, max_weight_grams=r.max_weight_grams, fee=r.fee, extra_per_kg=r.extra_per_kg)
        )
    record(
        actor_id,
        "shipping.rates",
        "shipping_rate",
        None,
        before=_as_json(before),
        after=_as_json(after),
    )
    db.session.commit()
    return True
