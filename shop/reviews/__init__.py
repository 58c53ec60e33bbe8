"""Buyers' reviews of products they received (issue 13, item 3)."""
