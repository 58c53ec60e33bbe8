"""The one module that talks to Stripe, through the official SDK.

Every call has a timeout and two network retries (the SDK reuses one idempotency
key across its retries), and every Stripe error comes out as a `GatewayError`
with a message a shopper can read. Amounts are whole đồng: VND is zero-decimal
in Stripe, so the PaymentIntent amount *is* the đồng integer. The rest of the
app sees plain `Intent` snapshots, never SDK objects.

Works against api.stripe.com and against localstripe (STRIPE_API_BASE)."""

from dataclasses import dataclass, field

import stripe
from flask import current_app
from flask_babel import lazy_gettext as _l
from stripe.params import SetupIntentCreateParams

CURRENCY = "vnd"

# Stripe's decline and error codes -> what we tell the shopper. Lost, stolen
# and fraud declines deliberately read as a plain decline.
_DECLINE_MESSAGES = {
    "insufficient_funds": _l("Thẻ không đủ số dư. Vui lòng dùng thẻ khác."),
    "expired_card": _l("Thẻ đã hết hạn. Vui lòng dùng thẻ khác."),
    "incorrect_cvc": _l("Mã CVC không đúng. Vui lòng kiểm tra lại."),
    "invalid_cvc": _l("Mã CVC không đúng. Vui lòng kiểm tra lại."),
    "incorrect_number": _l("Số thẻ không đúng. Vui lòng kiểm tra lại."),
    "invalid_number": _l("Số thẻ không đúng. Vui lòng kiểm tra lại."),
    "invalid_expiry_month": _l("Ngày hết hạn của thẻ không đúng."),
    "invalid_expiry_year": _l("Ngày hết hạn của thẻ không đúng."),
    "processing_error": _l("Ngân hàng chưa xử lý được thẻ. Vui lòng thử lại sau ít phút."),
    "payment_intent_authentication_failure": _l("Xác thực 3-D Secure không thành công. Vui lòng thử lại."),
    "authentication_required": _l("Ngân hàng yêu cầu xác thực 3-D Secure. Vui lòng thử lại."),
}
_DECLINED = _l("Thẻ bị từ chối. Vui lòng dùng thẻ khác hoặc liên hệ ngân hàng phát hành.")
_UNAVAILABLE = _l("Chưa kết nối được với cổng thanh toán. Vui lòng thử lại sau ít phút.")
_NOT_CONFIGURED = _l("Thanh toán bằng thẻ đang tạm ngưng.")


def decline_message(code: str | None):
    """The shopper-facing (lazy, translated) message for a Stripe decline or error code."""
    return _DECLINE_MESSAGES.get(code or "", _DECLINED)


def shopper_messages() -> dict[str, str]:
    """Every decline message by code, plus "card_declined" and "unavailable",
    translated now (call in a request): for the card page's script, since
    Stripe.js errors may come in English."""
    return {
        **{code: str(message) for code, message in _DECLINE_MESSAGES.items()},
        "card_declined": str(_DECLINED),
        "unavailable": str(_UNAVAILABLE),
    }


class GatewayError(Exception):
    """Stripe refused or could not be reached.

    `message`: for the shopper (lazy-translated). `code`: Stripe's error code
    (card_declined, ...) or ours (unavailable, bad_signature, not_configured).
    `decline_code`: the issuer's reason when a card was declined. `intent_id`:
    the PaymentIntent a declined charge belongs to. `detail`: Stripe's own
    English text, for logs and the order timeline."""

    def __init__(
        self,
        message,
        *,
        code: str,
        decline_code: str = "",
        intent_id: str | None = None,
        detail: str = "",
        card_declined: bool = False,
    ):
        super().__init__(detail or str(code))
        self.message = message
        self.code = code
        self.decline_code = decline_code
        self.intent_id = intent_id
        self.detail = detail
        self.card_declined = card_declined


@dataclass(frozen=True)
class Intent:
    """What we need to know about a PaymentIntent."""

    id: str
    status: str  # Stripe's: succeeded, requires_action, requires_payment_method, processing, canceled, ...
    amount: int
    currency: str
    client_secret: str = ""
    payment_method: str | None = None
    metadata: dict = field(default_factory=dict)
    failure_code: str = ""
    failure_message: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "Intent":
        error = data.get("last_payment_error") or {}
        pm = data.get("payment_method")
        if isinstance(pm, dict):
            pm = pm.get("id")
        failed_pm = error.get("payment_method")
        if pm is None and isinstance(failed_pm, dict):
            pm = failed_pm.get("id")  # Stripe clears payment_method after a decline
        amount = data["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("a PaymentIntent amount must be an int of đồng")
        return cls(
            id=data["id"],
            status=data["status"],
            amount=amount,
            currency=(data.get("currency") or "").lower(),
            client_secret=data.get("client_secret") or "",
            payment_method=pm,
            metadata=dict(data.get("metadata") or {}),
            failure_code=error.get("decline_code") or error.get("code") or "",
            failure_message=error.get("message") or "",
        )

    @property
    def failed(self) -> bool:
        """A confirmation attempt failed (declined, or 3-D Secure not completed)."""
        return self.status == "requires_payment_method" and bool(self.failure_code or self.failure_message)


def _client() -> stripe.StripeClient:
    config = current_app.config
    key = config.get("STRIPE_SECRET_KEY")
    if not key:
        raise GatewayError(_NOT_CONFIGURED, code="not_configured", detail="STRIPE_SECRET_KEY is not set")
    settings = (key, config["STRIPE_API_BASE"], float(config.get("STRIPE_TIMEOUT", 20)))
    clients = current_app.extensions.setdefault("stripe_clients", {})
    client = clients.get(settings)
    if client is None:
        client = stripe.StripeClient(
            key,
            base_addresses={"api": settings[1]},
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=(5, settings[2])),  # (connect, read) seconds
        )
        clients[settings] = client
    return client


def _error(err: stripe.StripeError, intent_id: str | None = None) -> GatewayError:
    """Translate an SDK error. Declines keep their code; the rest read as "try later"."""
    detail = err.user_message or str(err) or type(err).__name__
    if isinstance(err, stripe.CardError):
        decline_code = (err.error.decline_code if err.error else None) or err.code or "card_declined"
        return GatewayError(
            decline_message(decline_code),
            code=err.code or "card_declined",
            decline_code=decline_code,
            intent_id=intent_id,
            detail=detail,
            card_declined=True,
        )
    current_app.logger.warning("stripe error %s: %s", type(err).__name__, detail)
    return GatewayError(_UNAVAILABLE, code="unavailable", intent_id=intent_id, detail=detail)


def create_setup_intent(metadata: dict | None = None) -> tuple[str, str]:
    """A SetupIntent for one card entered on our page: (id, client_secret)."""
    params: SetupIntentCreateParams = {
        # The SDK's types dropped payment_method_types (Stripe now prefers dynamic
        # payment methods); the API still takes it and localstripe needs it.
        "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
        "usage": "on_session",
        "metadata": metadata or {},
    }
    try:
        setup = _client().v1.setup_intents.create(params=params)
    except stripe.StripeError as err:
        raise _error(err) from err
    if setup.client_secret is None:  # Stripe always returns one on create
        raise GatewayError(_UNAVAILABLE, code="unavailable", detail=f"SetupIntent {setup.id} has no client_secret")
    return setup.id, setup.client_secret


def _declined_intent_id(client: stripe.StripeClient, err: stripe.CardError) -> str | None:
    """The PaymentIntent a declined confirmation belongs to. Stripe names it in the
    error; localstripe only names the charge, which names the intent."""
    if err.error is None:
        return None
    if err.error.payment_intent is not None:
        return err.error.payment_intent.id
    if err.error.charge:
        try:
            intent = client.v1.charges.retrieve(err.error.charge).payment_intent
        except stripe.StripeError:
            return None
        return intent.id if isinstance(intent, stripe.PaymentIntent) else intent  # expanded or not
    return None


def create_and_confirm_payment_intent(
    amount: int, payment_method: str, order_number: str, idempotency_key: str, metadata: dict | None = None
) -> Intent:
    """Charge `amount` đồng to `payment_method` now. Returns the intent (succeeded,
    requires_action, processing); a decline raises GatewayError with `intent_id`.
    The same `idempotency_key` never creates a second PaymentIntent at Stripe."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("amount must be a positive int of đồng")
    client = _client()
    try:
        intent = client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": CURRENCY,
                "payment_method": payment_method,
                # Not in the SDK's types (see create_setup_intent); the API takes it.
                "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
                "confirm": True,
                "metadata": {**(metadata or {}), "order_number": order_number},
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.CardError as err:
        raise _error(err, intent_id=_declined_intent_id(client, err)) from err
    except stripe.StripeError as err:
        raise _error(err) from err
    return Intent.from_dict(intent.to_dict())


def retrieve_payment_intent(intent_id: str) -> Intent:
    try:
        intent = _client().v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as err:
        raise _error(err, intent_id=intent_id) from err
    return Intent.from_dict(intent.to_dict())


def cancel_payment_intent(intent_id: str) -> Intent:
    """Cancel an intent that has not succeeded (e.g. a 3-D Secure attempt the shopper
    abandoned for another card), so that it can never charge later."""
    try:
        intent = _client().v1.payment_intents.cancel(intent_id)
    except stripe.StripeError as err:
        raise _error(err, intent_id=intent_id) from err
    return Intent.from_dict(intent.to_dict())


def create_refund(payment_intent: str, amount: int, idempotency_key: str, metadata: dict | None = None) -> str:
    """Refund `amount` đồng of a succeeded PaymentIntent; returns the refund id.
    Stripe bounds refunds by the charge; localstripe does not, so callers must."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("amount must be a positive int of đồng")
    try:
        refund = _client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": amount, "metadata": metadata or {}},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as err:
        raise _error(err, intent_id=payment_intent) from err
    if refund.status in ("failed", "canceled"):
        raise GatewayError(
            _l("Cổng thanh toán không thực hiện được lệnh hoàn tiền."),
            code="refund_failed",
            intent_id=payment_intent,
            detail=f"refund {refund.id} {refund.status}",
        )
    return refund.id


def construct_event(payload: bytes, sig_header: str | None) -> stripe.Event:
    """Verify a webhook's Stripe-Signature with STRIPE_WEBHOOK_SECRET and parse it."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise GatewayError(_NOT_CONFIGURED, code="not_configured", detail="STRIPE_WEBHOOK_SECRET is not set")
    try:
        return stripe.Webhook.construct_event(
            payload, sig_header or "", secret, api_key=current_app.config.get("STRIPE_SECRET_KEY") or None
        )
    except (stripe.SignatureVerificationError, ValueError) as err:
        raise GatewayError(_l("Chữ ký webhook không hợp lệ."), code="bad_signature", detail=str(err)) from err
