"""Card payments: starting, paying and applying what Stripe says.

A card order is paid through a PaymentIntent in VND for exactly `order.total`
đồng. Stripe is the source of truth about money; `apply_intent` brings our
Payment row and the order in line with a PaymentIntent snapshot, whichever way it
arrived (the shopper's request here, a webhook or the reconciliation job in
`webhook_services`), so that every path gives the same answer and nothing
happens twice:

* an order once paid stays paid (a late "failed" never undoes a success);
* a payment for the wrong amount or currency never marks the order paid;
* a payment that lands after the order was cancelled, or a second payment for
  an order already paid, is refunded in full automatically (`refund_services`).

Talking to Stripe in the middle of a use case means a payment attempt commits
more than once: it first claims the order (one attempt at a time, so a double
click cannot charge twice, even on localstripe, which ignores idempotency keys).
Each such step is explained where it happens. Order rows change only through
shop.orders.services.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.extensions import db
from shop.formatting import utcnow
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent
from shop.payments import gateway
from shop.payments.errors import GatewayUnavailable, PaymentError, PaymentInProgress
from shop.payments.gateway import GatewayError, Intent, decline_message
from shop.payments.models import Payment
from shop.payments.refund_services import refund_in_full

# Payment.status values. Stripe's own while an intent is open, then ours:
PENDING = ("requires_action", "processing", "requires_confirmation", "requires_capture")
CLAIMING = "creating"  # a request is creating the PaymentIntent right now (intent_id is a placeholder)
# Final: money taken and kept / taken for the wrong amount / to give back / given back / never taken.
FINAL = ("succeeded", "mismatch", "refund_due", "auto_refunded", "canceled")

CLAIM_STALE_AFTER = timedelta(seconds=90)  # longer than a Stripe call with its retries can take
WAIT_FOR_OTHER_ATTEMPT = 20.0  # seconds a second click waits for the first one's answer


@dataclass(frozen=True)
class PayResult:
    """What the card page needs to know next."""

    status: str  # "succeeded" | "requires_action" | "processing" | "failed"
    client_secret: str = ""  # for stripe.confirmCardPayment when status is requires_action
    message: object = ""  # shopper-facing reason when failed (lazily translated: str() it in a request)
    decline_code: str = ""


def _failure_note(code: str, detail: str) -> str:
    # Stored as "code: Stripe's text", so a replay can show the same reason.
    return f"{code or 'declined'}: {detail}"[:500]


def _code_of(failure_message: str) -> str:
    return failure_message.split(":", 1)[0] if failure_message else ""


def _card_order(order_id: int) -> Order:
    order = orders.get_order(order_id)
    if order.payment_method != "card":
        raise PaymentError(_("Đơn hàng này thanh toán khi nhận hàng, không cần trả bằng thẻ."), code="not_card_order")
    return order


def _check_payable(order: Order) -> None:
    if order.status == "awaiting_payment" and orders.release_if_expired(order.id):
        db.session.refresh(order)
    if order.status == "cancelled":
        raise PaymentError(
            _("Đơn hàng đã hết thời gian giữ hàng và đã bị huỷ. Vui lòng đặt lại."), code="order_cancelled"
        )
    if order.status != "awaiting_payment":
        raise PaymentError(_("Đơn hàng không còn chờ thanh toán."), code="not_awaiting_payment")


def _latest_attempt(order_id: int) -> Payment | None:
    return db.session.scalars(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status.not_in((CLAIMING, "abandoned")))
        .order_by(Payment.id.desc())
    ).first()


# --- starting and paying ------------------------------------------------------


def start_card_payment(order_id: int) -> str:
    """A fresh SetupIntent for the card page of an order awaiting card payment;
    returns its client_secret. Other orders are refused with a PaymentError."""
    order = _card_order(order_id)
    _check_payable(order)
    try:
        _, client_secret = gateway.create_setup_intent({"order_id": str(order.id), "order_number": order.number})
    except GatewayError as err:
        raise GatewayUnavailable(err.message, code=err.code) from err
    return client_secret


def _attempt_key(order_id: int, payment_method_id: str) -> str:
    # Same order and card -> same PaymentIntent at Stripe; another card -> a new attempt.
    return f"order-{order_id}-pm-{payment_method_id}"


def _claim(order: Order) -> Payment | None:
    """Take the order's single attempt slot (commits), or None if another request
    holds it. The slot is a Payment row whose unique intent_id is a placeholder
    until Stripe answers: the database lets only one exist per order."""
    claim = Payment(
        order_id=order.id, intent_id=f"claim:{order.id}", amount=order.total, currency="vnd", status=CLAIMING
    )
    db.session.add(claim)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return claim


def _claim_row(order_id: int) -> Payment | None:
    return db.session.scalars(select(Payment).where(Payment.intent_id == f"claim:{order_id}")).first()


def drop_stale_claim(order_id: int) -> bool:
    """Free the slot of a request that died while talking to Stripe (commits).
    Returns whether the slot is free."""
    claim = _claim_row(order_id)
    if claim is None:
        return True
    created = claim.created_at if claim.created_at.tzinfo else claim.created_at.replace(tzinfo=utcnow().tzinfo)
    if utcnow() - created < CLAIM_STALE_AFTER:
        return False
    claim.intent_id, claim.status = f"abandoned:{claim.id}", "abandoned"
    db.session.commit()
    return True


def _wait_for_other_attempt(order_id: int, deadline: float) -> None:
    """Another request (a double click) is talking to Stripe for this order: wait
    until it has stored its answer, so this one can give the same answer."""
    while not drop_stale_claim(order_id):
        if time.monotonic() > deadline:
            raise PaymentInProgress(_("Đang xử lý một lần thanh toán khác của đơn này. Vui lòng đợi giây lát."))
        db.session.rollback()  # end the read, to see the other request's commit
        time.sleep(0.2)


def _replay(previous: Payment, payment_method_id: str) -> PayResult | None:
    """Deal with the order's latest attempt before starting another. Returns the
    answer to give when this request repeats that attempt (same card), None to go on."""
    if previous.status == "processing":
        return PayResult("processing")
    if previous.status not in ("requires_action", "requires_confirmation", "failed"):
        return None
    try:
        intent = gateway.retrieve_payment_intent(previous.intent_id)
        same_card = intent.payment_method == payment_method_id
        if intent.status == "succeeded" or (same_card and (intent.status in PENDING or intent.failed)):
            return apply_intent(previous, intent)
        if intent.status in PENDING:
            # The shopper left a 3-D Secure check for another card: make sure it can
            # never complete behind their back, then start the new attempt.
            try:
                intent = gateway.cancel_payment_intent(previous.intent_id)
            except GatewayError:
                intent = gateway.retrieve_payment_intent(previous.intent_id)  # it ended meanwhile
    except GatewayError as err:
        raise GatewayUnavailable(err.message, code=err.code) from err
    result = apply_intent(previous, intent)
    return result if result.status == "succeeded" else None


def pay_with_payment_method(order_id: int, payment_method_id: str) -> PayResult:
    """Charge the order's total to a card the shopper just set up (a PaymentMethod id).

    Returns "succeeded" (the order is now paid), "requires_action" with the
    PaymentIntent's client_secret for 3-D Secure, "processing", or "failed" with
    the reason; after a failure the order keeps its reserved stock and the cart is
    untouched, so the shopper can try another card. Repeating the call with the
    same card never creates a second PaymentIntent, even while the first call is
    still waiting for Stripe."""
    payment_method_id = (payment_method_id or "").strip() if isinstance(payment_method_id, str) else ""
    if not payment_method_id.startswith("pm_") or len(payment_method_id) > 200:
        raise PaymentError(_("Thông tin thẻ không hợp lệ. Vui lòng nhập lại."), code="bad_payment_method")
    deadline = time.monotonic() + WAIT_FOR_OTHER_ATTEMPT
    while True:
        _wait_for_other_attempt(order_id, deadline)
        order = _card_order(order_id)
        if order.status == "paid":
            return PayResult("succeeded")
        _check_payable(order)
        previous = _latest_attempt(order.id)
        if previous is not None:
            replay = _replay(previous, payment_method_id)
            if replay is not None:
                return replay
        claim = _claim(order)
        if claim is not None:
            return _charge(order, claim, payment_method_id)


def _charge(order: Order, claim: Payment, payment_method_id: str) -> PayResult:
    order_id, claim_id = order.id, claim.id
    try:
        intent = gateway.create_and_confirm_payment_intent(
            order.total,
            payment_method_id,
            order.number,
            _attempt_key(order.id, payment_method_id),
            metadata={"order_id": str(order.id)},
        )
    except GatewayError as err:
        if not err.card_declined:
            # Nothing we know of was charged. Free the slot; a retry with the same card
            # reuses the idempotency key, so Stripe cannot charge it twice.
            db.session.delete(claim)
            db.session.commit()
            raise GatewayUnavailable(err.message, code=err.code) from err
        note = _failure_note(err.decline_code, err.detail)
        payment = _adopt(claim, err.intent_id) if err.intent_id else None
        if payment is None:
            db.session.delete(claim)
        elif payment.status not in FINAL:
            payment.status, payment.failure_message = "failed", note
        orders.record_payment_failure(order_id, note)  # commits the payment row too
        return PayResult("failed", message=err.message, decline_code=err.decline_code)
    payment = _adopt(db.session.get_one(Payment, claim_id), intent.id)
    return apply_intent(payment, intent)


def _adopt(claim: Payment, intent_id: str) -> Payment:
    """Give the claim its real PaymentIntent id, or, if a webhook already stored
    that intent (or Stripe replayed an earlier attempt), use that row instead."""
    existing = db.session.scalars(select(Payment).where(Payment.intent_id == intent_id)).first()
    if existing is not None:
        db.session.delete(claim)
        return existing
    claim.intent_id = intent_id
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        claim = db.session.get_one(Payment, claim.id)
        db.session.delete(claim)
        return db.session.scalars(select(Payment).where(Payment.intent_id == intent_id)).one()
    return claim


# --- one place that applies what Stripe says ----------------------------------


def _result_of(payment: Payment) -> PayResult:
    if payment.status == "succeeded":
        return PayResult("succeeded")
    if payment.status == "mismatch":
        return PayResult(
            "failed",
            message=_("Số tiền thanh toán không khớp với đơn hàng. Chúng tôi sẽ liên hệ để hoàn lại tiền."),
            decline_code="amount_mismatch",
        )
    if payment.status in ("refund_due", "auto_refunded"):
        if payment.order.status == "paid":
            return PayResult("succeeded")
        return PayResult(
            "failed",
            message=_("Đơn hàng đã hết thời gian giữ hàng nên đã bị huỷ; số tiền vừa trả được hoàn lại vào thẻ."),
            decline_code="order_cancelled",
        )
    code = _code_of(payment.failure_message)
    return PayResult("failed", message=decline_message(code), decline_code=code)


def apply_intent(payment: Payment, intent: Intent) -> PayResult:
    """Bring `payment` and its order in line with `intent` (commits)."""
    if payment.status in FINAL:
        db.session.commit()
        return _result_of(payment)
    if intent.status == "succeeded":
        return _succeeded(payment, intent)
    payment.amount, payment.currency = intent.amount, intent.currency
    if intent.status in PENDING:
        payment.status = intent.status
        db.session.commit()
        if intent.status == "processing":
            return PayResult("processing")
        return PayResult("requires_action", client_secret=intent.client_secret)
    # requires_payment_method (declined, or 3-D Secure failed) or canceled: no money moved.
    newly_failed = payment.status != "failed"
    payment.status = "canceled" if intent.status == "canceled" else "failed"
    code = intent.failure_code or ("canceled" if intent.status == "canceled" else "card_declined")
    payment.failure_message = _failure_note(code, intent.failure_message)
    if newly_failed and payment.status == "failed" and payment.order.status == "awaiting_payment":
        orders.record_payment_failure(payment.order_id, payment.failure_message)  # commits
    else:
        db.session.commit()
    return PayResult("failed", message=decline_message(code), decline_code=code)


def _succeeded(payment: Payment, intent: Intent) -> PayResult:
    order = payment.order
    payment.amount, payment.currency, payment.failure_message = intent.amount, intent.currency, ""
    matches = intent.currency == "vnd" and intent.amount == order.total
    # Decided here so that the payment's status commits with mark_paid's change.
    if not matches:
        payment.status = "mismatch"
    elif order.status == "cancelled":
        payment.status = "refund_due"
    else:
        payment.status = "succeeded"
    outcome = orders.mark_paid(order.id, intent.amount, intent.currency)
    if outcome == "cancelled" and payment.status != "refund_due":  # cancelled meanwhile
        payment.status = "refund_due"
    if outcome == "already_paid":
        paid_by_another = db.session.scalars(
            select(Payment.id).where(
                Payment.order_id == order.id, Payment.id != payment.id, Payment.status == "succeeded"
            )
        ).first()
        if paid_by_another is not None:
            payment.status = "refund_due"  # the shopper paid twice: keep the first
            db.session.add(
                OrderEvent(
                    order_id=order.id,
                    kind="duplicate_payment",
                    note=f"{payment.intent_id} {intent.amount} {intent.currency}",
                )
            )
    db.session.commit()
    if payment.status == "refund_due":
        refund_in_full(payment)
    return _result_of(payment)


def confirm_after_action(order_id: int) -> PayResult:
    """After the shopper's 3-D Secure check: ask Stripe how the latest attempt ended."""
    order = _card_order(order_id)
    if order.status == "paid":
        return PayResult("succeeded")
    payment = _latest_attempt(order.id)
    if payment is None:
        raise PaymentError(_("Chưa có lần thanh toán nào cho đơn này."), code="no_attempt")
    if payment.status in FINAL or payment.status == "failed":
        return _result_of(payment)
    try:
        intent = gateway.retrieve_payment_intent(payment.intent_id)
    except GatewayError as err:
        raise GatewayUnavailable(err.message, code=err.code) from err
    return apply_intent(payment, intent)
