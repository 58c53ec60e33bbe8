"""Reference data every deployment needs: the 34 provinces and the OCOP categories."""

from shop.catalog.services import upsert_categories
from shop.extensions import db
from shop.places.services import upsert_provinces


def load_reference_data() -> None:
    """Insert what is missing (idempotent) and commit."""
    upsert_provinces()
    db.session.flush()
    upsert_categories()
    db.session.commit()
