"""Card payments against a real localstripe: paying, declines, 3-D Secure,
webhooks (signed by us, and one delivered by localstripe itself), reconciliation
and refunds. Orders are made by the real checkout service."""

import dataclasses
import json
import secrets
import threading
import time
from datetime import timedelta

import pytest
import requests
from flask import current_app
from sqlalchemy import func, select
from werkzeug.serving import make_server

from shop.cancellations import services as cancellations
from shop.cart.models import CartLine
from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.models import OutboxEmail
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent, SubOrder
from shop.payments import card_services, gateway, refund_services, webhook_services
from shop.payments.errors import GatewayUnavailable, PaymentError, RefundRefused
from shop.payments.models import Payment, Refund, StripeEvent
from tests.support.factories import HUE_DUONG, TEAS, cart_with, delivery_to, two_producer_shop
from tests.support.servers import free_port
from tests.support.stripe import PK, SK, WEBHOOK_SECRET, signed


@pytest.fixture(params=["sqlite"])
def backend(request):
    """SQLite here; the webhook idempotency test also runs on PostgreSQL."""
    return request.param


@pytest.fixture(autouse=True)
def stripe_config(card_payments):
    return card_payments


@pytest.fixture
def shop(app):
    """Two producers' products, in stock: the tea's and the fish cake's variant ids."""
    shop = two_producer_shop(TEAS.stocked(5), dataclasses.replace(HUE_DUONG, owner_type="cooperative"), owners=False)
    return shop.mine_variants[0], shop.other_variants[0]


def place(variants: list[tuple[int, int]], method: str = "card") -> Order:
    cart_id = cart_with(*[(db.session.get(Variant, vid), qty) for vid, qty in variants])
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


@pytest.fixture
def card_order(shop):
    tea, fish = shop
    return place([(tea, 2), (fish, 1)])


def fresh(model, id_):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, id_)


def stock(variant_id: int) -> int:
    return fresh(Variant, variant_id).stock


def cart_lines(cart_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(CartLine.id)).where(CartLine.cart_id == cart_id))


def event_kinds(order_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    )


def stripe_get(localstripe, path: str, **params) -> dict:
    response = requests.get(
        localstripe.api_base + path, params=params, headers={"Authorization": f"Bearer {SK}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def intents_for(localstripe, order: Order) -> list[dict]:
    listed = stripe_get(localstripe, "/v1/payment_intents", limit=10_000)["data"]
    return [pi for pi in listed if pi["metadata"].get("order_number") == order.number]


def event_for(localstripe, intent_id: str, type_: str) -> dict:
    """The event localstripe made for an intent (the JSON it would POST to us)."""
    listed = stripe_get(localstripe, "/v1/events", type=type_, limit=10_000)["data"]
    matches = [e for e in listed if e["data"]["object"]["id"] == intent_id]
    assert len(matches) == 1, f"{type_} for {intent_id}: {len(matches)} events"
    return matches[0]


def deliver(client, event: dict):
    body, headers = signed(event)
    return client.post("/webhooks/stripe", data=body, headers=headers)


def charge_outside_the_page(order: Order, amount: int | None = None, pm: str = "pm_card_visa") -> str:
    """A PaymentIntent for the order that our database has not heard of (as when the
    request that made it died before storing the answer); returns its id."""
    intent = gateway.create_and_confirm_payment_intent(
        order.total if amount is None else amount,
        pm,
        order.number,
        secrets.token_hex(8),
        metadata={"order_id": str(order.id)},
    )
    return intent.id


def card_needing_3ds() -> str:
    """A PaymentMethod for localstripe's 3-D Secure test card (the page makes these
    through a SetupIntent; localstripe also takes the number directly)."""
    response = requests.post(
        current_app.config["STRIPE_API_BASE"] + "/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": "4000002500003155",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
        headers={"Authorization": f"Bearer {SK}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["id"]


def authenticate(localstripe, client_secret: str, success: bool) -> None:
    """What localstripe's Stripe.js does when the shopper answers the 3-D Secure box."""
    intent_id = client_secret.split("_secret_")[0]
    response = requests.post(
        f"{localstripe.api_base}/v1/payment_intents/{intent_id}/_authenticate",
        params={"success": "true" if success else "false"},
        json={"key": PK, "client_secret": client_secret},
        timeout=10,
    )
    response.raise_for_status()


# --- paying ----------------------------------------------------------------------


def test_a_card_payment_marks_the_order_paid_and_clears_the_bought_cart_lines(card_order, shop, localstripe):
    tea, fish = shop
    assert (stock(tea), stock(fish)) == (3, 2)
    assert cart_lines(card_order.cart_id) == 2

    result = card_services.pay_with_payment_method(card_order.id, "pm_card_visa")

    assert result.status == "succeeded"
    order = fresh(Order, card_order.id)
    assert order.status == "paid" and order.paid_at is not None and order.reserved_until is None
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    assert (payment.status, payment.amount, payment.currency) == ("succeeded", order.total, "vnd")
    assert isinstance(payment.amount, int)
    assert cart_lines(order.cart_id) == 0
    assert (stock(tea), stock(fish)) == (3, 2)  # taken at checkout, kept
    (intent,) = intents_for(localstripe, order)
    assert (intent["amount"], intent["currency"], intent["status"]) == (order.total, "vnd", "succeeded")
    assert event_kinds(order.id) == ["placed", "paid"]


def outbox_kinds(order: Order) -> list[str]:
    """The notices written for an order so far (shopper's confirmation, producers' new-order)."""
    db.session.rollback()
    sub_ids = [s.id for s in fresh(Order, order.id).sub_orders]
    keys = [f"order_placed:{order.id}"] + [f"new_order:{sid}:" for sid in sub_ids]
    kinds = []
    for row in db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)):
        if any(row.dedupe_key == k or (k.endswith(":") and row.dedupe_key.startswith(k)) for k in keys):
            kinds.append(row.kind)
    return sorted(kinds)


def _with_contact_emails(shop) -> None:
    for variant_id in shop:
        variant = db.session.get(Variant, variant_id)
        variant.product.producer.email = f"lienhe-{variant_id}@example.vn"
    db.session.commit()


def test_a_card_order_tells_the_shopper_and_producers_only_once_it_is_paid(shop):
    _with_contact_emails(shop)
    tea, fish = shop
    order = place([(tea, 1), (fish, 1)])
    assert outbox_kinds(order) == []  # placed but unpaid: nothing is true yet

    card_services.pay_with_payment_method(order.id, "pm_card_chargeCustomerFail")
    assert outbox_kinds(order) == []  # declined: still nothing

    assert card_services.pay_with_payment_method(order.id, "pm_card_visa").status == "succeeded"
    assert outbox_kinds(order) == ["new_order", "new_order", "order_placed"]
    orders.mark_paid(order.id, fresh(Order, order.id).total, "vnd")  # a webhook arriving afterwards
    assert outbox_kinds(order) == ["new_order", "new_order", "order_placed"]


def test_a_cash_on_delivery_order_tells_them_when_it_is_placed(shop):
    _with_contact_emails(shop)
    tea, fish = shop
    order = place([(tea, 1), (fish, 1)], method="cod")
    assert outbox_kinds(order) == ["new_order", "new_order", "order_placed"]


def test_a_declined_card_keeps_the_order_waiting_with_its_stock_and_cart(app, card_order, shop):
    tea, fish = shop

    result = card_services.pay_with_payment_method(card_order.id, "pm_card_chargeCustomerFail")

    assert (result.status, result.decline_code) == ("failed", "card_declined")
    with app.test_request_context():
        assert str(result.message).startswith("Thẻ bị từ chối")
    order = fresh(Order, card_order.id)
    assert order.status == "awaiting_payment" and order.reserved_until is not None
    assert (stock(tea), stock(fish)) == (3, 2)
    assert cart_lines(order.cart_id) == 2
    assert event_kinds(order.id) == ["placed", "payment_failed"]
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).one()
    assert payment.status == "failed" and payment.failure_message.startswith("card_declined")

    # Another card is a new attempt, and it can pay.
    assert card_services.pay_with_payment_method(order.id, "pm_card_visa").status == "succeeded"
    assert fresh(Order, order.id).status == "paid"
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.order_id == order.id)) == 2


def test_paying_twice_with_the_same_card_creates_one_payment_intent(card_order, localstripe):
    first = card_services.pay_with_payment_method(card_order.id, "pm_card_visa")
    second = card_services.pay_with_payment_method(card_order.id, "pm_card_visa")
    assert first.status == second.status == "succeeded"
    assert len(intents_for(localstripe, card_order)) == 1
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.order_id == card_order.id)) == 1


def test_a_double_click_at_the_same_moment_creates_one_payment_intent(app, card_order, localstripe):
    order_id = card_order.id
    db.session.remove()  # leave the database to the two clicks
    barrier, results, errors = threading.Barrier(2), [], []

    def click():
        with app.app_context():
            try:
                barrier.wait()
                results.append(card_services.pay_with_payment_method(order_id, "pm_card_visa").status)
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and results == ["succeeded", "succeeded"]
    order = fresh(Order, order_id)
    assert order.status == "paid"
    assert len(intents_for(localstripe, order)) == 1
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.order_id == order_id)) == 1


def test_repeating_a_declined_card_does_not_charge_it_again(card_order, localstripe):
    assert card_services.pay_with_payment_method(card_order.id, "pm_card_chargeCustomerFail").status == "failed"
    again = card_services.pay_with_payment_method(card_order.id, "pm_card_chargeCustomerFail")
    assert (again.status, again.decline_code) == ("failed", "card_declined")
    assert len(intents_for(localstripe, card_order)) == 1
    assert event_kinds(card_order.id) == ["placed", "payment_failed"]


def test_3d_secure_then_confirmation_pays_the_order(card_order, localstripe):
    result = card_services.pay_with_payment_method(card_order.id, card_needing_3ds())
    assert result.status == "requires_action" and result.client_secret.startswith("pi_")
    assert fresh(Order, card_order.id).status == "awaiting_payment"

    authenticate(localstripe, result.client_secret, success=True)

    assert card_services.confirm_after_action(card_order.id).status == "succeeded"
    assert fresh(Order, card_order.id).status == "paid"


def test_failed_3d_secure_is_reported_and_another_card_can_still_pay(app, card_order, localstripe, shop):
    result = card_services.pay_with_payment_method(card_order.id, card_needing_3ds())
    authenticate(localstripe, result.client_secret, success=False)

    after = card_services.confirm_after_action(card_order.id)

    assert (after.status, after.decline_code) == ("failed", "payment_intent_authentication_failure")
    with app.test_request_context():
        assert "3-D Secure" in str(after.message)
    assert fresh(Order, card_order.id).status == "awaiting_payment"
    assert cart_lines(card_order.cart_id) == 2
    assert card_services.pay_with_payment_method(card_order.id, "pm_card_visa").status == "succeeded"


def test_a_new_card_cancels_an_abandoned_3d_secure_attempt(card_order, localstripe):
    first = card_services.pay_with_payment_method(card_order.id, card_needing_3ds())
    assert first.status == "requires_action"

    assert card_services.pay_with_payment_method(card_order.id, "pm_card_visa").status == "succeeded"

    abandoned = first.client_secret.split("_secret_")[0]
    assert stripe_get(localstripe, f"/v1/payment_intents/{abandoned}")["status"] == "canceled"
    assert fresh(Order, card_order.id).status == "paid"


def test_only_card_orders_awaiting_payment_can_start_a_card_payment(shop, card_order):
    tea, _ = shop
    assert card_services.start_card_payment(card_order.id).startswith("seti_")
    cod = place([(tea, 1)], method="cod")
    with pytest.raises(PaymentError) as refused:
        card_services.start_card_payment(cod.id)
    assert refused.value.code == "not_card_order"
    card_services.pay_with_payment_method(card_order.id, "pm_card_visa")
    with pytest.raises(PaymentError) as refused:
        card_services.start_card_payment(card_order.id)
    assert refused.value.code == "not_awaiting_payment"


def test_an_expired_reservation_cannot_be_paid(card_order, shop):
    tea, fish = shop
    order = fresh(Order, card_order.id)
    order.reserved_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(PaymentError) as refused:
        card_services.pay_with_payment_method(order.id, "pm_card_visa")
    assert refused.value.code == "order_cancelled"
    assert fresh(Order, order.id).status == "cancelled"
    assert (stock(tea), stock(fish)) == (5, 3)


# --- webhooks ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_the_same_webhook_event_twice_changes_nothing_the_second_time(client, card_order, localstripe):
    intent_id = charge_outside_the_page(card_order)
    event = event_for(localstripe, intent_id, "payment_intent.succeeded")

    first = deliver(client, event)
    assert first.status_code == 200 and first.get_json()["status"] == "succeeded"
    order = fresh(Order, card_order.id)
    assert order.status == "paid"
    kinds = event_kinds(order.id)
    payments = db.session.scalar(select(func.count(Payment.id)))

    second = deliver(client, event)

    assert second.status_code == 200 and second.get_json() == {"received": True, "duplicate": True}
    assert event_kinds(order.id) == kinds == ["placed", "paid"]
    assert db.session.scalar(select(func.count(Payment.id))) == payments == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1


def test_a_late_failure_event_after_success_leaves_the_order_paid(client, card_order, localstripe):
    card_services.pay_with_payment_method(card_order.id, "pm_card_chargeCustomerFail")
    card_services.pay_with_payment_method(card_order.id, "pm_card_visa")
    declined, paid = sorted(
        db.session.scalars(select(Payment).where(Payment.order_id == card_order.id)), key=lambda p: p.id
    )
    succeeded_event = event_for(localstripe, paid.intent_id, "payment_intent.succeeded")
    failed_event = event_for(localstripe, declined.intent_id, "payment_intent.payment_failed")
    # And a failure for the very intent that succeeded, delivered after it (out of order).
    stale = json.loads(json.dumps(succeeded_event))
    stale["id"], stale["type"] = "evt_stale" + secrets.token_hex(6), "payment_intent.payment_failed"
    stale["data"]["object"].update(
        status="requires_payment_method", last_payment_error={"code": "card_declined", "message": "declined"}
    )

    for event in (succeeded_event, failed_event, stale):
        assert deliver(client, event).status_code == 200

    order = fresh(Order, card_order.id)
    assert order.status == "paid"
    assert fresh(Payment, paid.id).status == "succeeded"
    assert event_kinds(order.id) == ["placed", "payment_failed", "paid"]


def test_a_payment_for_another_amount_does_not_mark_the_order_paid(client, card_order, localstripe):
    intent_id = charge_outside_the_page(card_order, amount=card_order.total - 1_000)

    answer = deliver(client, event_for(localstripe, intent_id, "payment_intent.succeeded"))

    assert answer.status_code == 200
    order = fresh(Order, card_order.id)
    assert order.status == "awaiting_payment"
    payment = db.session.scalars(select(Payment).where(Payment.intent_id == intent_id)).one()
    assert (payment.status, payment.amount) == ("mismatch", card_order.total - 1_000)
    assert "payment_mismatch" in event_kinds(order.id)
    assert cart_lines(order.cart_id) == 2


def test_an_event_naming_an_order_without_its_number_is_ignored(client, card_order, localstripe):
    intent = gateway.create_and_confirm_payment_intent(
        card_order.total,
        "pm_card_visa",
        "OC000000-XXXXX",
        secrets.token_hex(8),
        metadata={"order_id": str(card_order.id)},
    )
    answer = deliver(client, event_for(localstripe, intent.id, "payment_intent.succeeded"))
    assert answer.get_json() == {"received": True, "ignored": True}
    assert fresh(Order, card_order.id).status == "awaiting_payment"


def test_a_bad_signature_is_refused_and_unknown_events_are_acknowledged(client):
    event = {
        "id": "evt_x1",
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }
    body, headers = signed(event, secret="whsec_wrong")
    refused = client.post("/webhooks/stripe", data=body, headers=headers)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "bad_signature"
    assert client.post("/webhooks/stripe", data=body).status_code == 400
    accepted = deliver(client, event)
    assert accepted.status_code == 200 and accepted.get_json() == {"received": True, "ignored": True}


def test_a_payment_landing_after_the_order_was_cancelled_is_refunded_in_full(client, card_order, localstripe):
    order = fresh(Order, card_order.id)
    order.reserved_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert orders.release_if_expired(order.id)
    intent_id = charge_outside_the_page(order)

    assert deliver(client, event_for(localstripe, intent_id, "payment_intent.succeeded")).status_code == 200

    order = fresh(Order, card_order.id)
    assert order.status == "cancelled"
    payment = db.session.scalars(select(Payment).where(Payment.intent_id == intent_id)).one()
    assert (payment.status, payment.refunded_amount) == ("auto_refunded", order.total)
    assert [s.refunded_amount for s in order.sub_orders] == [s.total for s in order.sub_orders]
    refunds = stripe_get(localstripe, "/v1/refunds", payment_intent=intent_id)["data"]
    assert sum(r["amount"] for r in refunds) == order.total


def test_a_second_payment_for_a_paid_order_is_refunded_in_full(client, card_order, localstripe):
    card_services.pay_with_payment_method(card_order.id, "pm_card_visa")
    second = charge_outside_the_page(card_order)  # e.g. paid again from another tab

    assert deliver(client, event_for(localstripe, second, "payment_intent.succeeded")).status_code == 200

    order = fresh(Order, card_order.id)
    assert order.status == "paid"
    payment = db.session.scalars(select(Payment).where(Payment.intent_id == second)).one()
    assert (payment.status, payment.refunded_amount) == ("auto_refunded", order.total)
    assert [s.refunded_amount for s in order.sub_orders] == [0, 0]  # the first payment is kept whole
    refunds = stripe_get(localstripe, "/v1/refunds", payment_intent=second)["data"]
    assert sum(r["amount"] for r in refunds) == order.total
    assert "duplicate_payment" in event_kinds(order.id)


def test_localstripe_delivers_a_signed_webhook_that_marks_the_order_paid(app, card_order, localstripe):
    """End to end: localstripe signs and POSTs the event to the running app."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    webhook_id = "test-" + secrets.token_hex(4)
    localstripe.register_webhook(
        f"http://127.0.0.1:{port}/webhooks/stripe",
        WEBHOOK_SECRET,
        events=["payment_intent.succeeded"],
        webhook_id=webhook_id,
    )
    try:
        intent_id = charge_outside_the_page(card_order)  # our database only learns of it by the webhook
        deadline = time.monotonic() + 15
        while fresh(Order, card_order.id).status != "paid" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        localstripe.register_webhook(
            f"http://127.0.0.1:{port}/webhooks/stripe", WEBHOOK_SECRET, events=[], webhook_id=webhook_id
        )
        server.shutdown()
        thread.join(10)
    assert fresh(Order, card_order.id).status == "paid"
    # (Events of earlier tests may arrive too: they name other orders and are ignored.)
    payment = db.session.scalars(select(Payment).where(Payment.order_id == card_order.id)).one()
    assert (payment.intent_id, payment.status) == (intent_id, "succeeded")


# --- reconciliation -----------------------------------------------------------------


def test_reconciliation_marks_paid_an_order_whose_webhook_was_lost(card_order, localstripe):
    result = card_services.pay_with_payment_method(card_order.id, card_needing_3ds())
    # The shopper passes 3-D Secure, then closes the tab; no webhook arrives.
    authenticate(localstripe, result.client_secret, success=True)
    assert fresh(Order, card_order.id).status == "awaiting_payment"

    counts = webhook_services.reconcile_awaiting_payments(older_than_seconds=0)

    assert counts["checked"] == 1 and counts["paid"] == 1
    assert fresh(Order, card_order.id).status == "paid"
    assert webhook_services.reconcile_awaiting_payments(older_than_seconds=0)["checked"] == 0


def test_reconciliation_frees_the_slot_of_a_request_that_died(card_order):
    db.session.add(
        Payment(
            order_id=card_order.id,
            intent_id=f"claim:{card_order.id}",
            amount=card_order.total,
            currency="vnd",
            status="creating",
            created_at=utcnow() - timedelta(minutes=5),
        )
    )
    db.session.commit()

    assert webhook_services.reconcile_awaiting_payments()["abandoned"] == 1
    assert card_services.pay_with_payment_method(card_order.id, "pm_card_visa").status == "succeeded"


def test_reconciliation_leaves_recent_attempts_alone(card_order):
    card_services.pay_with_payment_method(card_order.id, card_needing_3ds())
    assert webhook_services.reconcile_awaiting_payments(older_than_seconds=60)["checked"] == 0


# --- refunds ----------------------------------------------------------------------


@pytest.fixture
def paid_order(card_order):
    assert card_services.pay_with_payment_method(card_order.id, "pm_card_visa").status == "succeeded"
    return fresh(Order, card_order.id)


def refunds_at_stripe(localstripe, order: Order) -> int:
    payment = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded")
    ).one()
    return sum(r["amount"] for r in stripe_get(localstripe, "/v1/refunds", payment_intent=payment.intent_id)["data"])


def test_refunding_more_than_was_paid_is_refused(paid_order, localstripe):
    sub = paid_order.sub_orders[0]
    with pytest.raises(RefundRefused) as refused:
        refund_services.refund(sub.id, amount=sub.total + 1, reason="khách trả hàng")
    assert refused.value.code == "refund_exceeds_paid"
    assert fresh(SubOrder, sub.id).refunded_amount == 0
    assert refunds_at_stripe(localstripe, paid_order) == 0


def test_two_partial_refunds_up_to_the_total_work_and_a_third_is_refused(paid_order, localstripe):
    sub = paid_order.sub_orders[0]
    half = sub.total // 2
    refund_services.refund(sub.id, amount=half, reason="thiếu hàng")
    refund_services.refund(sub.id, amount=sub.total - half, reason="thiếu hàng")
    with pytest.raises(RefundRefused) as refused:
        refund_services.refund(sub.id, amount=1, reason="thiếu hàng")
    assert refused.value.code == "refund_exceeds_paid"
    with pytest.raises(RefundRefused):
        refund_services.refund(sub.id, reason="thiếu hàng")
    assert fresh(SubOrder, sub.id).refunded_amount == sub.total
    payment = db.session.scalars(select(Payment).where(Payment.order_id == paid_order.id)).one()
    assert payment.refunded_amount == sub.total
    assert db.session.scalar(select(func.count(Refund.id))) == 2
    assert refunds_at_stripe(localstripe, paid_order) == sub.total
    assert event_kinds(paid_order.id).count("refunded") == 2


def test_refunding_lines_then_the_rest_of_the_sub_order(paid_order, localstripe):
    tea_sub = next(s for s in paid_order.sub_orders if s.lines[0].product_name == "Trà Tân Cương")
    line = tea_sub.lines[0]
    first = refund_services.refund(tea_sub.id, line_ids=[line.id], reason="hộp bị móp")
    assert first.amount == line.line_total == 240_000
    rest = refund_services.refund(tea_sub.id, reason="huỷ phần còn lại")
    assert rest.amount == tea_sub.total - line.line_total  # the shipping fee
    with pytest.raises(RefundRefused):
        refund_services.refund(tea_sub.id, line_ids=[line.id], reason="lần nữa")
    assert refunds_at_stripe(localstripe, paid_order) == tea_sub.total


def test_a_producer_cannot_refund_another_producers_part(paid_order):
    first, second = paid_order.sub_orders
    with pytest.raises(NotFound):
        refund_services.refund(first.id, reason="x", producer_ids=[second.producer_id])


def test_a_cod_order_cannot_be_refunded_by_card(shop):
    tea, _ = shop
    order = place([(tea, 1)], method="cod")
    with pytest.raises(RefundRefused) as refused:
        refund_services.refund(order.sub_orders[0].id, reason="khách đổi ý")
    assert refused.value.code == "cod_not_refundable"


def test_cancelling_a_paid_sub_order_refunds_it_and_returns_its_stock(paid_order, shop, localstripe):
    tea, fish = shop
    fish_sub = next(s for s in paid_order.sub_orders if s.lines[0].product_name == "Chả cá thát lát")

    cancellations.cancel_and_refund(fish_sub.id, "hết hàng tại cơ sở", producer_ids=[fish_sub.producer_id])

    sub = fresh(SubOrder, fish_sub.id)
    assert (sub.status, sub.refunded_amount) == ("cancelled", sub.total)
    assert stock(fish) == 3 and stock(tea) == 3
    assert fresh(Order, paid_order.id).status == "paid"
    assert refunds_at_stripe(localstripe, paid_order) == sub.total


def test_when_stripe_refuses_the_refund_nothing_is_cancelled(app, paid_order, shop):
    tea, fish = shop
    fish_sub = next(s for s in paid_order.sub_orders if s.lines[0].product_name == "Chả cá thát lát")
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    with pytest.raises(GatewayUnavailable):
        cancellations.cancel_and_refund(fish_sub.id, "hết hàng")

    sub = fresh(SubOrder, fish_sub.id)
    assert (sub.status, sub.refunded_amount) == ("pending", 0)
    assert stock(fish) == 2
    payment = db.session.scalars(select(Payment).where(Payment.order_id == paid_order.id)).one()
    assert payment.refunded_amount == 0 and all(line.refunded_amount == 0 for line in sub.lines)
    assert db.session.scalar(select(func.count(Refund.id))) == 0


# --- the page and its JSON steps --------------------------------------------------------


def test_the_payment_page_shows_the_total_and_the_deadline_in_vietnam_time(client, card_order, localstripe):
    order = fresh(Order, card_order.id)
    url = f"/don-hang/{order.number}/thanh-toan"
    assert client.get(url).status_code == 404  # a guest needs the order's secret
    page = client.get(url, query_string={"t": order.access_token})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    deadline = (order.reserved_until.replace(tzinfo=utcnow().tzinfo) + timedelta(hours=7)).strftime("%H:%M")
    assert f"Giữ hàng đến {deadline}" in html
    assert localstripe.js_url in html and f'data-publishable-key="{PK}"' in html
    assert 'data-setup-secret="seti_' in html and f'data-token="{order.access_token}"' in html
    assert 'role="alert"' in html


def test_the_payment_page_says_so_when_stripe_cannot_be_reached(app, client, card_order):
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    order = fresh(Order, card_order.id)
    page = client.get(f"/don-hang/{order.number}/thanh-toan", query_string={"t": order.access_token})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Chưa kết nối được với cổng thanh toán" in html
    assert "card.js" not in html and "Thử lại" in html


def test_the_payment_page_sends_other_orders_to_their_order_page(client, shop):
    tea, _ = shop
    order = place([(tea, 1)], method="cod")
    answer = client.get(f"/don-hang/{order.number}/thanh-toan", query_string={"t": order.access_token})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/don-hang/{order.number}?t={order.access_token}"


def test_paying_through_the_json_steps(client, card_order):
    order = fresh(Order, card_order.id)
    base = f"/don-hang/{order.number}/thanh-toan"
    declined = client.post(
        base + "/the", json={"payment_method": "pm_card_chargeCustomerFail", "t": order.access_token}
    )
    assert declined.status_code == 402
    error = declined.get_json()["error"]
    assert error["decline_code"] == "card_declined" and error["message"].startswith("Thẻ bị từ chối")
    assert client.post(base + "/phien", json={"t": order.access_token}).get_json()["client_secret"].startswith("seti_")

    paid = client.post(base + "/the", json={"payment_method": "pm_card_visa", "t": order.access_token})

    assert paid.status_code == 200
    assert paid.get_json() == {"status": "succeeded", "redirect": f"/don-hang/{order.number}?t={order.access_token}"}
    assert client.post(base + "/the", json={"payment_method": "pm_card_visa"}).status_code == 404


def test_the_json_steps_need_the_csrf_token_but_the_webhook_does_not(app, client, card_order):
    app.config["WTF_CSRF_ENABLED"] = True
    order = fresh(Order, card_order.id)
    answer = client.post(
        f"/don-hang/{order.number}/thanh-toan/the", json={"payment_method": "pm_card_visa", "t": order.access_token}
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "csrf_failed"
    event = {
        "id": "evt_csrf",
        "object": "event",
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }
    assert deliver(client, event).status_code == 200
