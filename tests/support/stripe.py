"""localstripe for the tests: the runner shared with `make run`, plus helpers to
sign webhook payloads the way Stripe (and localstripe) do."""

import hashlib
import hmac
import json
import time

import requests
from sqlalchemy import select

from shop.extensions import db
from shop.payments.localstripe_runner import TEST_CARDS, LocalStripe
from shop.payments.models import Payment

WEBHOOK_SECRET = "whsec_test_cho_ocop"
SK, PK = "sk_test_local", "pk_test_local"

__all__ = [
    "PK",
    "SK",
    "TEST_CARDS",
    "WEBHOOK_SECRET",
    "LocalStripe",
    "refunded_at_stripe",
    "signed",
    "stripe_config",
    "stripe_signature",
]


def stripe_config(server: LocalStripe) -> dict:
    """The app settings that point the Stripe SDK and Stripe.js at `server`."""
    return {
        "STRIPE_SECRET_KEY": SK,
        "STRIPE_PUBLISHABLE_KEY": PK,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": server.api_base,
        "STRIPE_JS_URL": server.js_url,
    }


def refunded_at_stripe(server: LocalStripe, order_id: int) -> int:
    """What localstripe says was refunded of an order's card payment, in đồng."""
    intent_id = db.session.scalars(select(Payment.intent_id).where(Payment.order_id == order_id)).one()
    response = requests.get(
        server.api_base + "/v1/refunds",
        params={"payment_intent": intent_id},
        headers={"Authorization": f"Bearer {SK}"},
        timeout=10,
    )
    response.raise_for_status()
    return sum(refund["amount"] for refund in response.json()["data"])


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`: t=<time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict]:
    """(body, headers) for POSTing `event` to /webhooks/stripe."""
    body = json.dumps(event).encode()
    return body, {"Stripe-Signature": stripe_signature(body, secret), "Content-Type": "application/json"}
