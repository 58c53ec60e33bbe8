"""Partner channels: signed webhooks for stock and price changes."""
