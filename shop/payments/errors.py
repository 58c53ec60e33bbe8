"""The refusals of the payments area, each a ShopError the edge turns into a response."""

from shop.errors import ShopError


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
