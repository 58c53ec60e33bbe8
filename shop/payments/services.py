"""Card payments, webhooks, reconciliation and refunds.

A card order is paid through a PaymentIntent in VND for exactly `order.total`
đồng. Stripe is the source of truth about money; `_apply` brings our Payment row
and the order in line with a PaymentIntent snapshot, whichever way it arrived
(the shopper's request, a webhook, or the reconciliation job), so that every
path gives the same answer and nothing happens twice:

* an order once paid stays paid (a late "failed" never undoes a success);
* a payment for the wrong amount or currency never marks the order paid;
* a payment that lands after the order was cancelled, or a second payment for
  an order already paid, is refunded in full automatically.

Talking to Stripe in the middle of a use case means some use cases commit more
than once: a payment attempt first claims the order (one attempt at a time, so a
double click cannot charge twice, even on localstripe, which ignores idempotency
keys), and a refund first reserves its amount against the bounds (so two refunds
at once cannot give back more than was paid). Each such step is explained where
it happens. Order rows change only through shop.orders.services, except the
refunded amounts, which only this module keeps.
"""

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import get_locale
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shop.bank import services as bank
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow, vnd
from shop.ledger import services as ledger
from shop.notifications.services import notify_refunded
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent, OrderLine, SubOrder
from shop.payments import gateway
from shop.payments.gateway import GatewayError, Intent, decline_message
from shop.payments.models import Payment, Refund, StripeEvent

log = logging.getLogger(__name__)

# Payment.status values. Stripe's own while an intent is open, then ours:
PENDING = ("requires_action", "processing", "requires_confirmation", "requires_capture")
CLAIMING = "creating"  # a request is creating the PaymentIntent right now (intent_id is a placeholder)
# Final: money taken and kept / taken for the wrong amount / to give back / given back / never taken.
FINAL = ("succeeded", "mismatch", "refund_due", "auto_refunded", "canceled")

CLAIM_STALE_AFTER = timedelta(seconds=90)  # longer than a Stripe call with its retries can take
WAIT_FOR_OTHER_ATTEMPT = 20.0  # seconds a second click waits for the first one's answer


class PaymentError(ShopError):
    code = "payment_refused"


class PaymentInProgress(PaymentError):
    status = 409
    code = "payment_in_progress"


class GatewayUnavailable(ShopError):
    status = 503
    code = "gateway_unavailable"


class RefundRefused(ShopError):
    code = "refund_refused"


class WebhookRejected(ShopError):
    code = "bad_signature"


@dataclass(frozen=True)
class PayResult:
    """What the card page needs to know next."""

    status: str  # "succeeded" | "requires_action" | "processing" | "failed"
    client_secret: str = ""  # for stripe.confirmCardPayment when status is requires_action
    message: object = ""  # shopper-facing reason when failed (lazily translated: str() it in a request)
    decline_code: str = ""


def _money(amount: int) -> str:
    try:
        locale = str(get_locale() or "vi")
    except RuntimeError:  # outside a request
        locale = "vi"
    return vnd(amount, locale)


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


def _drop_stale_claim(order_id: int) -> bool:
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
    while not _drop_stale_claim(order_id):
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
            return _apply(previous, intent)
        if intent.status in PENDING:
            # The shopper left a 3-D Secure check for another card: make sure it can
            # never complete behind their back, then start the new attempt.
            try:
                intent = gateway.cancel_payment_intent(previous.intent_id)
            except GatewayError:
                intent = gateway.retrieve_payment_intent(previous.intent_id)  # it ended meanwhile
    except GatewayError as err:
        raise GatewayUnavailable(err.message, code=err.code) from err
    result = _apply(previous, intent)
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
    payment = _adopt(db.session.get(Payment, claim_id), intent.id)
    return _apply(payment, intent)


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
        claim = db.session.get(Payment, claim.id)
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


def _apply(payment: Payment, intent: Intent) -> PayResult:
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
        _refund_in_full(payment)
    return _result_of(payment)


# --- webhooks and reconciliation ----------------------------------------------

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
    result = _apply(payment, intent)  # commits the event id with the change
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
        payment = db.session.get(Payment, payment_id)
        counts["checked"] += 1
        try:
            intent = gateway.retrieve_payment_intent(payment.intent_id)
        except GatewayError:
            log.warning("reconcile: could not retrieve %s", payment.intent_id, exc_info=True)
            counts["errors"] += 1
            db.session.rollback()
            continue
        result = _apply(payment, intent)
        key = {"succeeded": "paid", "failed": "failed"}.get(result.status, "pending")
        counts[key] += 1
    for claim in list(
        db.session.scalars(
            select(Payment).where(Payment.status == CLAIMING, Payment.created_at <= utcnow() - CLAIM_STALE_AFTER)
        )
    ):
        if _drop_stale_claim(claim.order_id):
            counts["abandoned"] += 1
    for payment_id in list(db.session.scalars(select(Payment.id).where(Payment.status == "refund_due"))):
        if _refund_in_full(db.session.get(Payment, payment_id)):
            counts["refunded"] += 1
        else:
            counts["errors"] += 1
    db.session.commit()
    return counts


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
    return _apply(payment, intent)


# --- refunds --------------------------------------------------------------------


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    stripe_refund_id: str
    amount: int


def _reserve(
    payment_id: int,
    amount: int,
    *,
    payment_before: int | None = None,
    sub_id: int | None = None,
    sub_before: int | None = None,
    line_amounts: dict[int, int] | None = None,
) -> bool:
    """Count `amount` as refunded before asking Stripe (commits), only if it stays
    within what was paid: conditional UPDATEs, so two refunds at once cannot both
    pass. `*_before` makes the update a compare-and-set, so that the refund's
    idempotency key (built from it) names exactly one refund."""
    stmt = update(Payment).where(Payment.id == payment_id, Payment.refunded_amount + amount <= Payment.amount)
    if payment_before is not None:
        stmt = stmt.where(Payment.refunded_amount == payment_before)
    ok = _one(stmt.values(refunded_amount=Payment.refunded_amount + amount))
    if ok and sub_id is not None:
        stmt = update(SubOrder).where(SubOrder.id == sub_id, SubOrder.refunded_amount + amount <= SubOrder.total)
        if sub_before is not None:
            stmt = stmt.where(SubOrder.refunded_amount == sub_before)
        ok = _one(stmt.values(refunded_amount=SubOrder.refunded_amount + amount))
    for line_id, part in (line_amounts or {}).items():
        ok = ok and _one(
            update(OrderLine)
            .where(OrderLine.id == line_id, OrderLine.refunded_amount + part <= OrderLine.line_total)
            .values(refunded_amount=OrderLine.refunded_amount + part)
        )
    if not ok:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _one(stmt) -> bool:
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount == 1


def _release(
    payment_id: int, amount: int, *, sub_id: int | None = None, line_amounts: dict[int, int] | None = None
) -> None:
    """Undo a reservation after Stripe refused the refund (commits)."""
    db.session.rollback()
    _one(update(Payment).where(Payment.id == payment_id).values(refunded_amount=Payment.refunded_amount - amount))
    if sub_id is not None:
        _one(update(SubOrder).where(SubOrder.id == sub_id).values(refunded_amount=SubOrder.refunded_amount - amount))
    for line_id, part in (line_amounts or {}).items():
        _one(update(OrderLine).where(OrderLine.id == line_id).values(refunded_amount=OrderLine.refunded_amount - part))
    db.session.commit()


def _send_refund(
    payment_id: int,
    intent_id: str,
    order_id: int,
    sub_id: int,
    amount: int,
    key: str,
    reason: str,
    *,
    bump_sub: bool,
    line_amounts: dict[int, int] | None = None,
) -> RefundResult:
    """Stripe, then our records; the amount must already be reserved."""
    try:
        stripe_refund_id = gateway.create_refund(intent_id, amount, key, metadata={"sub_order_id": str(sub_id)})
    except GatewayError as err:
        _release(payment_id, amount, sub_id=sub_id if bump_sub else None, line_amounts=line_amounts)
        raise GatewayUnavailable(err.message, code=err.code) from err
    row = Refund(
        payment_id=payment_id,
        sub_order_id=sub_id,
        amount=amount,
        stripe_refund_id=stripe_refund_id,
        reason=reason[:1000],
    )
    db.session.add(row)
    db.session.add(
        OrderEvent(order_id=order_id, sub_order_id=sub_id, kind="refunded", note=f"{amount} vnd: {reason}"[:500])
    )
    db.session.flush()
    notify_refunded(db.session.get(SubOrder, sub_id), row.id, amount)
    ledger.sync_reversals(sub_id)  # a delivered part's earnings are reversed with the refund
    try:
        db.session.commit()
    except IntegrityError:  # Stripe replayed a refund we already recorded
        db.session.rollback()
        row = db.session.scalars(select(Refund).where(Refund.stripe_refund_id == stripe_refund_id)).one()
    return RefundResult(row.id, row.stripe_refund_id, row.amount)


def _refund_in_full(payment: Payment) -> bool:
    """Give back everything left of a payment we must not keep (a late payment
    for a cancelled order, or a second payment). Spread over the sub-orders so
    each Refund row names one; a cancelled order's sub-orders count it as refunded.
    Returns whether it is all given back; if Stripe fails, it stays "refund_due"
    and the reconciliation job tries again."""
    order = payment.order
    cancelled_order = order.status == "cancelled"
    reason = "order cancelled before the payment arrived" if cancelled_order else "duplicate payment"
    for sub in sorted(order.sub_orders, key=lambda s: s.id):
        db.session.refresh(payment)
        db.session.refresh(sub)
        left = payment.amount - payment.refunded_amount
        room = sub.total - sub.refunded_amount if cancelled_order else sub.total
        amount = min(left, room)
        if amount <= 0:
            continue
        before = payment.refunded_amount
        if not _reserve(payment.id, amount, payment_before=before, sub_id=sub.id if cancelled_order else None):
            return False  # someone else is refunding it right now
        try:
            _send_refund(
                payment.id,
                payment.intent_id,
                order.id,
                sub.id,
                amount,
                f"auto-refund:{payment.intent_id}:{before}:{amount}",
                reason,
                bump_sub=cancelled_order,
            )
        except GatewayUnavailable:
            log.warning("automatic refund of %s failed; will retry", payment.intent_id, exc_info=True)
            return False
    db.session.refresh(payment)
    if payment.refunded_amount >= payment.amount:
        payment.status = "auto_refunded"
        db.session.commit()
        return True
    log.error("payment %s could not be spread over its sub-orders", payment.intent_id)
    return False


def find_sub_order(sub_order_id: int, producer_ids: list[int] | None) -> SubOrder:
    """The sub-order (no lock) if it belongs to one of `producer_ids` (any producer when None)."""
    stmt = select(SubOrder).where(SubOrder.id == sub_order_id)
    if producer_ids is not None:
        stmt = stmt.where(SubOrder.producer_id.in_(producer_ids))
    sub = db.session.scalars(stmt).first()
    if sub is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return sub


def _paying_payment(order: Order) -> Payment:
    if order.payment_method == "cod":
        raise RefundRefused(
            _(
                "Đơn thanh toán khi nhận hàng (COD) không có giao dịch thẻ để hoàn tiền; "
                "hãy hoàn tiền trực tiếp cho người mua."
            ),
            code="cod_not_refundable",
        )
    payment = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded").order_by(Payment.id)
    ).first()
    if order.status != "paid" or payment is None:
        raise RefundRefused(_("Đơn hàng chưa được thanh toán bằng thẻ nên chưa có gì để hoàn."), code="not_paid")
    return payment


def refund(
    sub_order_id: int,
    amount: int | None = None,
    line_ids: list[int] | None = None,
    *,
    reason: str,
    producer_ids: list[int] | None = None,
) -> RefundResult:
    """Refund part of a card payment to the shopper's card, through Stripe.

    Refunds the whole sub-order (its total less what was already refunded), or
    the given lines (their totals less what was refunded on them), or `amount`
    đồng of the sub-order. Never more than was paid: the sub-order's refunds stay
    within its total and the payment's within its amount. `producer_ids` limits
    which producers' sub-orders may be refunded. COD orders are refused."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused(_("Cho biết lý do hoàn tiền."), code="missing_reason")
    if line_ids is not None and not line_ids:
        raise RefundRefused(_("Chọn ít nhất một dòng hàng cần hoàn."), code="bad_refund")
    if amount is not None and line_ids:
        raise RefundRefused(_("Chọn số tiền hoặc các dòng hàng cần hoàn, không chọn cả hai."), code="bad_refund")
    sub = find_sub_order(sub_order_id, producer_ids)
    payment = _paying_payment(sub.order)
    line_amounts: dict[int, int] = {}
    if line_ids:
        wanted = set(line_ids)
        lines = [line for line in sub.lines if line.id in wanted]
        if len(lines) != len(wanted):
            raise NotFound(_("Dòng hàng không thuộc phần đơn này."))
        line_amounts = {
            line.id: line.line_total - line.refunded_amount for line in lines if line.line_total > line.refunded_amount
        }
        amount = sum(line_amounts.values())
    elif amount is None:
        amount = sub.total - sub.refunded_amount
        # A whole sub-order counts its lines as refunded too.
        line_amounts = {
            line.id: line.line_total - line.refunded_amount
            for line in sub.lines
            if line.line_total > line.refunded_amount
        }
        if sum(line_amounts.values()) > amount:
            line_amounts = {}
    elif not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RefundRefused(_("Số tiền hoàn phải là số đồng nguyên lớn hơn 0."), code="bad_amount")
    if amount <= 0:
        raise RefundRefused(_("Phần này đã được hoàn tiền đủ."), code="nothing_to_refund")
    room = min(sub.total - sub.refunded_amount, payment.amount - payment.refunded_amount)
    if amount > room:
        raise RefundRefused(
            _(
                "Không thể hoàn %(amount)s: chỉ còn %(room)s có thể hoàn.",
                amount=_money(amount),
                room=_money(max(room, 0)),
            ),
            code="refund_exceeds_paid",
        )
    sub_id, before, payment_id, intent_id, order_id = (
        sub.id,
        sub.refunded_amount,
        payment.id,
        payment.intent_id,
        sub.order_id,
    )
    if not _reserve(payment_id, amount, sub_id=sub_id, sub_before=before, line_amounts=line_amounts):
        raise RefundRefused(
            _("Đơn vừa được hoàn tiền ở nơi khác. Vui lòng tải lại trang và kiểm tra."), code="refund_conflict"
        )
    return _send_refund(
        payment_id,
        intent_id,
        order_id,
        sub_id,
        amount,
        f"refund:{sub_id}:{before}:{amount}",
        reason,
        bump_sub=True,
        line_amounts=line_amounts,
    )


def flag_transfer_refund(order_id: int, amount: int, reason: str) -> int:
    """Cancelled units of an order paid by bank transfer: flag their money for refund (no commit)."""
    return bank.flag_refund_for_cancellation(order_id, amount, reason)
