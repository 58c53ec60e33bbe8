"""Imports each portal module so its routes join the blueprint."""

from shop.portal import (
    catalog_views,  # noqa: F401 - products, variants, stock, photos
    common_views,  # noqa: F401 - navigation, no-store, the too-large page
    orders_views,  # noqa: F401 - orders, packing slips, CSV, the dashboard
    payouts_views,  # noqa: F401 - weekly statements
    producer_views,  # noqa: F401 - applying to sell, certificates, members, settings
    promotions_views,  # noqa: F401 - promotion weeks: invitations and enrolments
    sync_views,  # noqa: F401 - stock sync pages
)
