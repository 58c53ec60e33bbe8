"""The shopper's orders: list, detail with a timeline per shop, cancel."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, user_logged_in

from shop.bank import services as bank
from shop.errors import ShopError
from shop.inputs import parse_int
from shop.orders import queries, services
from shop.reviews import queries as review_queries

bp = Blueprint("orders", __name__, url_prefix="/don-hang")


def register_guest_order_claim(app) -> None:
    """When a verified account signs in, the orders placed as a guest with its
    address join it (a checkout never signs in an account it cannot vouch for)."""

    @user_logged_in.connect_via(app)
    def claim(_sender, user, **_extra):
        if user.email_verified_at is not None:
            services.claim_guest_orders(user.id, user.email)


def _viewer() -> dict:
    return {
        "user_id": current_user.id if current_user.is_authenticated else None,
        "token": request.values.get("t") or None,
    }


@bp.get("")
@login_required
def index():
    stage = request.args.get("trang-thai", "")
    stage = stage if stage in queries.STAGES else ""
    page = parse_int(request.args.get("page"), minimum=1, maximum=9_999) or 1
    result = queries.orders_of_user(current_user.id, stage or None, page)
    counts = queries.stage_counts(current_user.id)
    return render_template("orders/index.html", result=result, counts=counts, stage=stage, stage_of=queries.stage_of)


@bp.get("/<number>")
def detail(number: str):
    order = queries.order_for_viewer(number, **_viewer())
    transfer = bank.transfer_for(order) if order.status == "awaiting_payment" else None
    return render_template(
        "orders/detail.html",
        order=order,
        token=request.args.get("t"),
        just_placed=request.args.get("placed") == "1",
        transfer=transfer,
        account=bank.receiving_account() if transfer else None,
        reviews=review_queries.by_line_of_order(order) if order.user_id else {},
    )


@bp.post("/<number>/huy")
def cancel(number: str):
    viewer = _viewer()
    order = queries.order_for_viewer(number, **viewer)
    try:
        services.cancel_by_shopper(order.id, order.user_id, request.form.get("reason", ""))
        flash(_("Đã huỷ đơn hàng."), "success")
    except ShopError as err:
        flash(err.message, "error")
    return redirect(url_for("orders.detail", number=number, t=viewer["token"]), code=303)
