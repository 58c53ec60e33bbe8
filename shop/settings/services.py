"""Typed access to run-time settings, with defaults for a fresh database."""

from shop.extensions import db
from shop.settings.models import Setting

DEFAULTS: dict[str, int] = {
    # Largest order total (đồng) that may be paid in cash on delivery.
    "cod_max_amount": 3_000_000,
    # Minutes an unpaid card order holds its stock.
    "card_reservation_minutes": 15,
    # Commission the marketplace takes on a producer's revenue, in basis points (800 = 8%),
    # unless the producer has its own rate or a rate for the product's category.
    "default_commission_bp": 800,
}


def get_int(key: str) -> int:
    row = db.session.get(Setting, key)
    return int(row.value) if row is not None else DEFAULTS[key]


def set_int(key: str, value: int) -> None:
    """Change a setting (no commit: the caller's use case commits)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=str(int(value))))
    else:
        row.value = str(int(value))
