"""Imports each console module so its routes join the blueprint."""

from shop.operator import views  # noqa: F401
