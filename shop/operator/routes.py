"""Imports each console module so its routes join the blueprint."""

from shop.operator import (
    audit_views,  # noqa: F401 - the audit log, and its helpers for every console template
    bank_views,  # noqa: F401 - bank transfers (VietQR)
    catalog_views,  # noqa: F401
    dashboard_views,  # noqa: F401
    emails_views,  # noqa: F401 - e-mails the worker gave up on
    orders_views,  # noqa: F401
    payouts_views,  # noqa: F401 - settling with producers, commission
    producers_views,  # noqa: F401 - producers and their certificates
    promotions_views,  # noqa: F401
    settings_views,  # noqa: F401
    vouchers_views,  # noqa: F401
)
