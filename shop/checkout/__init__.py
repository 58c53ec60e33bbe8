"""Checkout: address, shipping and review, then an order with its stock taken."""
