"""Cart pages: work as plain forms, and answer JSON when a script asks."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in

from shop.cart import services
from shop.errors import ShopError
from shop.inputs import parse_int
from shop.urls import safe_redirect

bp = Blueprint("cart", __name__, url_prefix="/gio-hang")


def cart_owner() -> tuple[int | None, str | None]:
    """(user id, visitor token) identifying the current cart."""
    if current_user.is_authenticated:
        return current_user.id, None
    return None, session.get("cart_token")


def register_cart_merge(app) -> None:
    """When someone signs in, the cart they filled as a visitor joins their own."""

    @user_logged_in.connect_via(app)
    def merge(_sender, user, **_extra):
        token = session.pop("cart_token", None)
        if token:
            services.merge_carts(token, user.id)


def current_cart_view(dest_province_id: int | None = None, email: str | None = None) -> services.CartView:
    user_id, token = cart_owner()
    return services.view_cart(services.get_cart(user_id, token), dest_province_id, email=email)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _int(name: str, default: int | None = None) -> int | None:
    value = parse_int(request.form.get(name))
    return default if value is None else value


@bp.get("")
def show():
    return render_template("cart/cart.html", cart=current_cart_view())


@bp.post("/them")
def add():
    variant_id, quantity = _int("variant_id"), _int("quantity", 1)
    back = safe_redirect(request.form.get("next") or request.referrer, url_for("cart.show"))
    try:
        if variant_id is None:
            raise ShopError(_("Hãy chọn quy cách sản phẩm."), code="no_variant")
        user_id, token = cart_owner()
        new_token, result = services.add_item(user_id, token, variant_id, quantity or 1)
        if new_token:
            session["cart_token"] = new_token
            session.permanent = True
    except ShopError as err:
        if _wants_json():
            return {"error": {"code": err.code, "message": err.message}}, err.status
        flash(err.message, "error")
        return redirect(back, code=303)
    message = (
        _("Chỉ còn %(n)s sản phẩm, giỏ hàng đã có tối đa số có thể mua.", n=result.quantity)
        if result.capped
        else _("Đã thêm vào giỏ hàng.")
    )
    if _wants_json():
        return {"message": message, "count": current_cart_view().count, "capped": result.capped}
    flash(message, "warning" if result.capped else "success")
    if request.form.get("buy_now"):
        return redirect(url_for("checkout.start"), code=303)
    return redirect(back, code=303)


@bp.post("/cap-nhat")
def update():
    variant_id, quantity = _int("variant_id"), _int("quantity")
    try:
        if variant_id is None or quantity is None:
            raise ShopError(_("Số lượng không hợp lệ."), code="bad_quantity")
        user_id, token = cart_owner()
        result = services.set_quantity(user_id, token, variant_id, quantity)
    except ShopError as err:
        if _wants_json():
            return {"error": {"code": err.code, "message": err.message}}, err.status
        flash(err.message, "error")
        return redirect(url_for("cart.show"), code=303)
    message = _("Chỉ còn %(n)s sản phẩm.", n=result.quantity) if result.capped else None
    if _wants_json():
        view = current_cart_view()
        return {
            "message": message,
            "count": view.count,
            "quantity": result.quantity,
            "html": render_template("cart/_groups.html", cart=view),
        }
    if message:
        flash(message, "warning")
    return redirect(url_for("cart.show"), code=303)


@bp.post("/ma-giam-gia")
def apply_voucher():
    user_id, token = cart_owner()
    back = url_for("checkout.review") if request.form.get("from") == "review" else url_for("cart.show")
    try:
        services.apply_voucher(user_id, token, request.form.get("code", ""))
    except ShopError as err:
        if _wants_json():
            return {"error": {"code": err.code, "message": err.message}}, err.status
        flash(err.message, "error")
        return redirect(back, code=303)
    if _wants_json():
        view = current_cart_view()
        return {"message": _("Đã áp dụng mã giảm giá."), "html": render_template("cart/_groups.html", cart=view)}
    flash(_("Đã áp dụng mã giảm giá."), "success")
    return redirect(back, code=303)


@bp.post("/ma-giam-gia/xoa")
def remove_voucher():
    user_id, token = cart_owner()
    services.remove_voucher(user_id, token)
    back = url_for("checkout.review") if request.form.get("from") == "review" else url_for("cart.show")
    return redirect(back, code=303)


@bp.post("/xoa")
def remove():
    variant_id = _int("variant_id")
    user_id, token = cart_owner()
    try:
        services.set_quantity(user_id, token, variant_id or 0, 0)
    except ShopError as err:
        flash(err.message, "error")
    return redirect(url_for("cart.show"), code=303)
