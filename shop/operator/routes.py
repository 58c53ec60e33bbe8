"""Imports each console module so its routes join the blueprint."""

from shop.operator import (
    bank_views,  # noqa: F401 - bank transfers (VietQR)
    catalog_views,  # noqa: F401
    emails,  # noqa: F401 - e-mails the worker gave up on
    orders_views,  # noqa: F401
    payouts,  # noqa: F401 - settling with producers, commission
    promotions,  # noqa: F401
    settings_views,  # noqa: F401
    views,  # noqa: F401
    vouchers,  # noqa: F401
)
