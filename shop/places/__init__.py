"""Provinces (the 34 units in force since 1 July 2025)."""
