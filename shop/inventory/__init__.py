"""Stock and price sync: the producer API, CSV imports and feed pulls."""
