"""The shopper's order confirmation e-mail, in the language they ordered in."""

import logging

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from shop.extensions import db
from shop.notifications.mail import send_email
from shop.orders.models import Order
from shop.templating import absolute_url

log = logging.getLogger(__name__)


def order_link(order: Order) -> str:
    """The order page; guests get the secret that lets them in without an account."""
    if order.user_id is None:
        return absolute_url("orders.detail", number=order.number, t=order.access_token)
    return absolute_url("orders.detail", number=order.number)


def send_order_placed(order_id: int) -> None:
    """Send the confirmation after the order's commit. A mail failure is logged
    and does not undo the order."""
    order = db.session.get(Order, order_id)
    if order is None:
        return
    with force_locale(order.locale):
        context = {"order": order, "link": order_link(order)}
        subject = _("Chợ OCOP: đã nhận đơn hàng %(number)s", number=order.number)
        text = render_template("email/order_placed.txt", **context)
        html = render_template("email/order_placed.html", **context)
    try:
        send_email(order.email, subject, text, html)
    except Exception:  # noqa: BLE001 - the order stands; the mail is retried by hand for now
        log.exception("could not send the confirmation of order %s", order.number)
