"""Public catalog API, /api/v1 (read-only JSON for partner retailers and apps)."""
