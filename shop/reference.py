"""Reference data every deployment needs: the 34 provinces, their 3,321 wards,
the OCOP categories and a starting shipping rate table."""

from shop.catalog.services import upsert_categories
from shop.extensions import db
from shop.places.services import upsert_provinces, upsert_wards
from shop.shipping.services import upsert_default_rates


def load_reference_data() -> None:
    """Insert what is missing (idempotent) and commit."""
    upsert_provinces()
    db.session.flush()
    upsert_wards()
    upsert_categories()
    upsert_default_rates()
    db.session.commit()
