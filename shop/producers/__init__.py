"""Producers (chủ thể OCOP) and their OCOP certificates."""
