"""Shipping fees per producer sub-order, from an editable rate table."""
