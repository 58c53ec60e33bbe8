"""Imports each portal module so its routes join the blueprint."""

from shop.portal import (  # noqa: F401 - sync: stock sync pages
    catalog,
    orders,
    payouts,  # noqa: F401 - weekly statements
    promotions,  # noqa: F401 - promotion weeks: invitations and enrolments
    sync,
)
