"""Orders: one per checkout, split into one sub-order per producer."""
