"""What Stripe tells us without being asked: signed webhooks, and the periodic
reconciliation that asks Stripe about what a lost webhook would have said.

Both end in `card_services.apply_intent`, the one place that applies a
PaymentIntent to our Payment row and the order, so a webhook, the shopper's own
request and the reconciliation job always agree, and nothing happens twice.
"""

import json
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.extensions import db
from shop.formatting import utcnow
from shop.orders.models import Order
from shop.payments import gateway
from shop.payments.card_services import CLAIM_STALE_AFTER, CLAIMING, PENDING, apply_intent, drop_stale_claim
from shop.payments.errors import WebhookRejected
from shop.payments.gateway import GatewayError, Intent
from shop.payments.models import Payment, StripeEvent
from shop.payments.refund_services import refund_in_full

log = logging.getLogger(__name__)

INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")


def _payment_for_event(intent: Intent) -> Payment | None:
    payment = db.session.scalars(select(Payment).where(Payment.intent_id == intent.id)).first()
    if payment is not None:
        return payment
    # An intent we have no row for (our request died before storing it, or someone
    # charged the order outside the card page): adopt it only if it names the order
    # by id and number.
    try:
        order_id = int(intent.metadata.get("order_id", ""))
    except ValueError:
        return None
    order = db.session.get(Order, order_id)
    if order is None or order.number != intent.metadata.get("order_number") or order.payment_method != "card":
        return None
    payment = Payment(
        order_id=order.id, intent_id=intent.id, amount=intent.amount, currency=intent.currency, status="unknown"
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def handle_webhook(payload: bytes, sig_header: str | None) -> dict:
    """Verify and apply one Stripe event. A bad signature raises WebhookRejected
    (400); an event seen before, or of a type we don't use, is acknowledged."""
    try:
        event = gateway.construct_event(payload, sig_header)
    except GatewayError as err:
        raise WebhookRejected(err.message) from err
    db.session.add(StripeEvent(id=event.id, type=event.type[:64]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return {"received": True, "duplicate": True}
    if event.type not in INTENT_EVENTS:
        db.session.commit()
        return {"received": True, "ignored": True}
    intent = Intent.from_dict(json.loads(payload)["data"]["object"])
    payment = _payment_for_event(intent)
    if payment is None:
        db.session.commit()
        return {"received": True, "ignored": True}
    result = apply_intent(payment, intent)  # commits the event id with the change
    return {"received": True, "status": result.status}


def reconcile_awaiting_payments(older_than_seconds: int = 60) -> dict:
    """Ask Stripe about attempts we have not heard the end of, so that a lost
    webhook (or a shopper who closed the tab during 3-D Secure) never leaves a
    paid order unpaid; free slots of requests that died; retry refunds that
    failed. Returns counts. Meant for a periodic task."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    counts = {"checked": 0, "paid": 0, "failed": 0, "pending": 0, "abandoned": 0, "refunded": 0, "errors": 0}
    open_ids = list(
        db.session.scalars(
            select(Payment.id)
            .join(Order, Order.id == Payment.order_id)
            .where(
                Order.status == "awaiting_payment",
                Payment.status.in_(PENDING + ("unknown",)),
                Payment.updated_at <= cutoff,
            )
            .order_by(Payment.id)
        )
    )
    for payment_id in open_ids:
        payment = db.session.get_one(Payment, payment_id)
        counts["checked"] += 1
        try:
            intent = gateway.retrieve_payment_intent(payment.intent_id)
        except GatewayError:
            log.warning("reconcile: could not retrieve %s", payment.intent_id, exc_info=True)
            counts["errors"] += 1
            db.session.rollback()
            continue
        result = apply_intent(payment, intent)
        key = {"succeeded": "paid", "failed": "failed"}.get(result.status, "pending")
        counts[key] += 1
    for claim in list(
        db.session.scalars(
            select(Payment).where(Payment.status == CLAIMING, Payment.created_at <= utcnow() - CLAIM_STALE_AFTER)
        )
    ):
        if drop_stale_claim(claim.order_id):
            counts["abandoned"] += 1
    for payment_id in list(db.session.scalars(select(Payment.id).where(Payment.status == "refund_due"))):
        if refund_in_full(db.session.get_one(Payment, payment_id)):
            counts["refunded"] += 1
        else:
            counts["errors"] += 1
    db.session.commit()
    return counts
