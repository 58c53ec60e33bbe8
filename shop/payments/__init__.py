"""Card payments through Stripe (PaymentIntents in VND), webhooks and refunds."""
