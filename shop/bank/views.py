"""SePay's webhook, and the order page's question "has my transfer arrived?"."""

from flask import Blueprint, jsonify, request
from flask_login import current_user

from shop.bank import sepay, services
from shop.orders.queries import order_for_viewer

bp = Blueprint("bank", __name__)


@bp.post("/webhooks/sepay")
def sepay_webhook():
    """One bank transaction (CSRF-exempt: the API key, and the HMAC if set, are checked).

    A bad key is a 401; anything else authenticated is answered 200 with
    {"success": true} — a body we cannot use included — so SePay stops retrying:
    such a body would be just as unusable the next time."""
    body = request.get_data(cache=True)
    if not sepay.check_webhook(
        request.headers.get("Authorization"),
        request.headers.get("X-SePay-Signature"),
        request.headers.get("X-SePay-Timestamp"),
        body,
    ):
        return jsonify({"success": False, "message": "Unauthorized"}), 401
    data = request.get_json(silent=True)
    return jsonify(services.receive(data))


@bp.get("/don-hang/<number>/chuyen-khoan/trang-thai")
def transfer_status(number: str):
    """What the order page polls while it waits for the transfer (personal, never cached)."""
    order = order_for_viewer(
        number,
        user_id=current_user.id if current_user.is_authenticated else None,
        token=request.args.get("t") or None,
    )
    response = jsonify({"status": order.status, "amount_due": order.amount_due, "received": order.amount_received})
    response.headers["Cache-Control"] = "private, no-store"
    return response
