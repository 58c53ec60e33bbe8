"""Catalog: categories, products, variants, images, search and the storefront pages."""
