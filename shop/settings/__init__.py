"""Marketplace settings that operators change at run time (COD limit, ...)."""
