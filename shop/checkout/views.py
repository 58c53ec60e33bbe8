"""Checkout in two pages (delivery, then review with shipping and payment),
plus the card page for card orders. All money is computed on the server."""

import secrets

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user

from shop.accounts import throttle
from shop.accounts.phone import normalise_phone
from shop.accounts.services import account_for_checkout
from shop.accounts.views import _login_limit_per_ip, password_wait
from shop.cart.services import get_cart
from shop.cart.views import cart_owner, current_cart_view
from shop.checkout import queries
from shop.checkout.forms import DeliveryForm, PlaceOrderForm
from shop.checkout.invoice import InvoiceError, check_invoice
from shop.checkout.services import Delivery, place_order
from shop.errors import ShopError
from shop.extensions import limiter
from shop.formatting import as_utc, utcnow
from shop.places import queries as places
from shop.queue import enqueue

bp = Blueprint("checkout", __name__, url_prefix="/thanh-toan")


def _delivery_from_session() -> Delivery | None:
    data = session.get("checkout")
    return Delivery(**data) if data else None


def _no_password_typed() -> bool:
    return not request.form.get("password")


@bp.route("", methods=["GET", "POST"])
# Typing a password here creates or opens an account: limited like signing in.
@limiter.limit(_login_limit_per_ip, methods=["POST"], exempt_when=_no_password_typed)
def start():
    cart = current_cart_view()
    if not cart.groups:
        flash(_("Giỏ hàng đang trống."), "warning")
        return redirect(url_for("cart.show"))
    form = DeliveryForm()
    user = current_user if current_user.is_authenticated else None
    addresses = queries.saved_addresses(user.id) if user else []
    form.saved_address.choices = [(a.id, str(a.id)) for a in addresses]
    provinces = places.provinces()
    form.province_id.choices = [(0, "")] + [(p.id, p.name) for p in provinces]
    province_id = form.province_id.data if request.method == "POST" else None
    previous = _delivery_from_session()
    if request.method == "GET":
        if user:
            form.email.data = user.email
            default = next((a for a in addresses if a.is_default), addresses[0] if addresses else None)
            form.saved_address.data = default.id if default else None
        if previous:
            form.email.data = previous.email
            form.recipient.data, form.phone.data, form.street.data = previous.recipient, previous.phone, previous.street
            form.province_id.data, form.ward_id.data = previous.province_id, previous.ward_id
            province_id = previous.province_id
            form.saved_address.data = None
    form.ward_id.choices = [(0, _("— Chọn phường/xã —"))] + (places.wards_of(province_id) if province_id else [])

    if request.method == "POST" and form.validate() and form.validate_new_address():
        try:
            if form.saved_address.data:
                address = queries.saved_address(user.id if user else None, form.saved_address.data)
                delivery = Delivery(
                    email=form.email.data or "",
                    recipient=address.recipient,
                    phone=address.phone,
                    province_id=address.province_id,
                    ward_id=address.ward_id,
                    street=address.street,
                )
            else:
                delivery = Delivery(
                    email=form.email.data or "",
                    recipient=(form.recipient.data or "").strip(),
                    phone=normalise_phone(form.phone.data or ""),
                    province_id=form.province_id.data,
                    ward_id=form.ward_id.data,
                    street=(form.street.data or "").strip(),
                )
                queries.check_ward(delivery.province_id, delivery.ward_id)
            if not user and form.password.data:
                email_key = f"email:{delivery.email.strip().lower()}"
                waiting = password_wait(email_key)
                if waiting:
                    return waiting
                account = account_for_checkout(
                    delivery.email, form.password.data, delivery.recipient, delivery.phone, str(get_locale())
                )
                if account is None:
                    # A new address or another's password: the same answer for both (see
                    # account_for_checkout); a wrong password counts against the address.
                    throttle.record_failure(email_key, get_remote_address())
                    flash(
                        _(
                            "Đơn hàng này sẽ được đặt như khách. Chúng tôi đã gửi thư tới %(email)s: mở thư để "
                            "kích hoạt tài khoản mới, hoặc đăng nhập nếu bạn đã có tài khoản, "
                            "và đơn hàng sẽ nằm trong tài khoản của bạn.",
                            email=delivery.email,
                        ),
                        "info",
                    )
                else:
                    throttle.record_success(email_key, get_remote_address())
                    login_user(account)
        except ShopError as err:
            flash(err.message, "error")
        else:
            session["checkout"] = delivery.__dict__
            return redirect(url_for("checkout.review"), code=303)
    return render_template("checkout/delivery.html", form=form, cart=cart, addresses=addresses, provinces=provinces)


@bp.get("/xac-nhan")
def review():
    delivery = _delivery_from_session()
    if delivery is None:
        return redirect(url_for("checkout.start"))
    cart = current_cart_view(dest_province_id=delivery.province_id, email=delivery.email)
    if not cart.groups:
        return redirect(url_for("cart.show"))
    form = PlaceOrderForm(checkout_key=secrets.token_urlsafe(24), expected_total=cart.total)
    invoice = session.get("checkout_invoice") or {}
    if invoice:
        form.want_invoice.data = True
        for key, value in invoice.items():
            getattr(form, key).data = value
    error = session.pop("checkout_invoice_error", None)
    if error and hasattr(form, error["field"]):
        getattr(form, error["field"]).errors = [error["message"]]
    return render_template(
        "checkout/review.html",
        form=form,
        cart=cart,
        delivery=delivery,
        address=queries.printed_address(delivery),
        cod_max=queries.cod_max(),
        vietqr_minutes=queries.vietqr_minutes(),
    )


@bp.post("/dat-hang")
def place():
    delivery = _delivery_from_session()
    if delivery is None:
        return redirect(url_for("checkout.start"))
    form = PlaceOrderForm()
    if not form.validate():
        flash(_("Chọn cách thanh toán rồi đặt hàng lại."), "error")
        return redirect(url_for("checkout.review"), code=303)
    user_id, token = cart_owner()
    cart = get_cart(user_id, token)
    if cart is None:
        return redirect(url_for("cart.show"))
    invoice = None
    fields = ("invoice_company", "invoice_tax_code", "invoice_address", "invoice_email")
    if form.want_invoice.data:
        typed = {key: (getattr(form, key).data or "").strip() for key in fields}
        session["checkout_invoice"] = typed
        try:
            invoice = check_invoice(**{key.removeprefix("invoice_"): value for key, value in typed.items()})
        except InvoiceError as err:
            session["checkout_invoice_error"] = {"field": err.field, "message": str(err.message)}
            flash(str(err.message), "error")
            return redirect(url_for("checkout.review"), code=303)
    else:
        session.pop("checkout_invoice", None)
    try:
        order = place_order(
            cart_id=cart.id,
            user_id=user_id,
            delivery=delivery,
            payment_method=form.payment_method.data,
            checkout_key=form.checkout_key.data or "",
            locale=str(get_locale()),
            expected_total=form.expected_total.data,
            invoice=invoice,
        )
    except ShopError as err:
        flash(err.message, "error")
        target = "cart.show" if err.code in ("out_of_stock", "empty_cart", "no_cart") else "checkout.review"
        return redirect(url_for(target), code=303)
    if order.reserved_until is not None:
        left = (as_utc(order.reserved_until) - utcnow()).total_seconds()
        enqueue("orders.release_if_expired", order.id, countdown=max(0, int(left)) + 5)
    guest_token = None if user_id else order.access_token
    session.pop("checkout_invoice", None)
    if order.payment_method == "card":
        return redirect(url_for("payments.pay", number=order.number, t=guest_token), code=303)
    session.pop("checkout", None)
    return redirect(url_for("orders.detail", number=order.number, t=guest_token, placed=1), code=303)
