"""localstripe for the tests: the runner shared with `make run`, plus helpers to
sign webhook payloads the way Stripe (and localstripe) do."""

import hashlib
import hmac
import json
import time

from shop.payments.localstripe_runner import TEST_CARDS, LocalStripe

WEBHOOK_SECRET = "whsec_test_cho_ocop"

__all__ = ["TEST_CARDS", "WEBHOOK_SECRET", "LocalStripe", "signed", "stripe_signature"]


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`: t=<time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict]:
    """(body, headers) for POSTing `event` to /webhooks/stripe."""
    body = json.dumps(event).encode()
    return body, {"Stripe-Signature": stripe_signature(body, secret), "Content-Type": "application/json"}
