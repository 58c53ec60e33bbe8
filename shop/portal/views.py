"""Imports each portal module so its routes join the blueprint."""

from shop.portal import catalog, orders, sync  # noqa: F401 - sync: stock sync pages
