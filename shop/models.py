"""Imports every model module so that the metadata (and Alembic) sees all tables."""

from shop.catalog.models import Category, Product, ProductImage, Variant
from shop.places.models import Province
from shop.producers.models import Certificate, Producer

__all__ = ["Category", "Certificate", "Producer", "Product", "ProductImage", "Province", "Variant"]
