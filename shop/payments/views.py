"""The card payment page, the JSON steps its script calls, and Stripe's webhook.

The page works the same against Stripe and localstripe: a SetupIntent confirmed
in the browser with the Card Element gives a PaymentMethod id; the server then
creates and confirms the PaymentIntent; 3-D Secure, when asked, runs in the
browser and the server is asked once more how it ended (static/js/card.js)."""

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from shop.errors import ShopError, json_error
from shop.extensions import limiter
from shop.formatting import to_vn, today_vn, utcnow, vnd
from shop.orders.queries import order_for_viewer
from shop.payments import card_services, webhook_services
from shop.payments.errors import GatewayUnavailable, WebhookRejected
from shop.payments.gateway import shopper_messages

bp = Blueprint("payments", __name__)


def _payment_limit() -> str:
    return current_app.config["PAYMENT_LIMIT_PER_IP"]


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _json() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _token(data: dict | None = None) -> str | None:
    """The guest's order secret, from ?t= or the posted data; passed along everywhere."""
    token = (data or {}).get("t") or request.args.get("t") or request.form.get("t")
    return token if isinstance(token, str) and token else None


def _order_url(order, token: str | None) -> str:
    return url_for("orders.detail", number=order.number, t=token)


def _answer(result: card_services.PayResult, order, token: str | None):
    if result.status == "succeeded":
        flash(
            _(
                "Thanh toán thành công %(amount)s bằng thẻ. Người bán đã nhận được đơn và sẽ sớm xác nhận.",
                amount=vnd(order.total, str(get_locale())),
            ),
            "success",
        )
    elif result.status == "processing":
        flash(_("Ngân hàng đang xử lý khoản thanh toán; trang đơn sẽ cập nhật khi có kết quả."), "info")
    if result.status in ("succeeded", "processing"):
        return jsonify({"status": result.status, "redirect": _order_url(order, token)})
    if result.status == "requires_action":
        return jsonify({"status": "requires_action", "client_secret": result.client_secret})
    return json_error(402, "payment_failed", str(result.message), decline_code=result.decline_code)


def _json_step(number: str, step):
    """Run one JSON step of the card page; every refusal answers JSON."""
    data = _json()
    token = _token(data)
    try:
        order = order_for_viewer(number, user_id=_user_id(), token=token)
        result = step(order.id, data)
    except ShopError as err:
        return json_error(err.status, err.code, str(err.message))
    return _answer(result, order, token)


# The page's script posts JSON: it gets its refusals as JSON too.
@bp.errorhandler(CSRFError)
def csrf_refused(_err):
    return json_error(400, "csrf_failed", _("Phiên làm việc đã hết hạn. Vui lòng tải lại trang rồi thử lại."))


@bp.errorhandler(429)
def too_many_attempts(_err):
    return json_error(429, "too_many_attempts", _("Bạn đã thử quá nhiều lần. Vui lòng đợi vài phút rồi thử lại."))


@bp.get("/don-hang/<number>/thanh-toan")
def pay(number: str):
    token = _token()
    order = order_for_viewer(number, user_id=_user_id(), token=token)
    if order.payment_method != "card" or order.status != "awaiting_payment":
        if order.status == "paid":
            flash(_("Đơn hàng đã được thanh toán."), "success")
        return redirect(_order_url(order, token), code=303)
    setup_secret, setup_error = "", None
    try:
        setup_secret = card_services.start_card_payment(order.id)
    except GatewayUnavailable as err:
        setup_error = str(err.message)
    except ShopError as err:  # the reservation ran out just now
        flash(str(err.message), "error")
        return redirect(_order_url(order, token), code=303)
    deadline = to_vn(order.reserved_until) if order.reserved_until else None
    config = current_app.config
    response = current_app.make_response(
        render_template(
            "payments/pay.html",
            order=order,
            token=token,
            setup_secret=setup_secret,
            setup_error=setup_error,
            deadline=deadline,
            deadline_today=deadline is not None and deadline.date() == today_vn(utcnow()),
            publishable_key=config["STRIPE_PUBLISHABLE_KEY"],
            stripe_js_url=config["STRIPE_JS_URL"],
            test_mode=config["STRIPE_PUBLISHABLE_KEY"].startswith("pk_test"),
            messages=_page_messages(),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # holds a client secret
    return response


def _page_messages() -> dict[str, str]:
    """What card.js may have to say, translated here (Stripe.js speaks English)."""
    return {
        **shopper_messages(),
        "incomplete": _("Vui lòng nhập đủ số thẻ, ngày hết hạn và mã CVC."),
        "authentication_failed": _("Xác thực 3-D Secure không thành công. Vui lòng thử lại."),
        "processing": _("Đang xử lý thanh toán…"),
        "authenticating": _("Đang chờ xác thực với ngân hàng…"),
        "done": _("Thanh toán thành công. Đang chuyển đến đơn hàng…"),
        "no_script": _("Không tải được cổng thanh toán. Vui lòng tải lại trang."),
    }


@bp.post("/don-hang/<number>/thanh-toan/phien")
@limiter.limit(_payment_limit)
def new_setup(number: str):
    """A fresh SetupIntent for another card (one is used up once it succeeds)."""
    data = _json()
    try:
        order = order_for_viewer(number, user_id=_user_id(), token=_token(data))
        client_secret = card_services.start_card_payment(order.id)
    except ShopError as err:
        return json_error(err.status, err.code, str(err.message))
    return jsonify({"client_secret": client_secret})


@bp.post("/don-hang/<number>/thanh-toan/the")
@limiter.limit(_payment_limit)
def pay_card(number: str):
    """Charge the order with the PaymentMethod the page just set up."""
    return _json_step(
        number, lambda order_id, data: card_services.pay_with_payment_method(order_id, data.get("payment_method"))
    )


@bp.post("/don-hang/<number>/thanh-toan/xac-nhan")
def confirm(number: str):
    """After 3-D Secure in the browser: how did the payment end?"""
    return _json_step(number, lambda order_id, _data: card_services.confirm_after_action(order_id))


@bp.post("/webhooks/stripe")
def stripe_webhook():
    """Stripe's events (CSRF-exempt: the signature is checked instead)."""
    try:
        answer = webhook_services.handle_webhook(request.get_data(), request.headers.get("Stripe-Signature"))
    except WebhookRejected as err:
        return json_error(400, err.code, str(err.message))
    return jsonify(answer)
