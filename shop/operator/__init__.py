"""The operator's screen (/ops): reviews producer applications and OCOP certificates."""
