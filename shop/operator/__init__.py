"""The marketplace operators' console (/ops).

Only operators see it; anyone else gets a 404, as if it did not exist. Each
area of the console is its own module of routes on this blueprint
(`shop.operator.routes` imports them all); `NAV` lists the console's sections
and the layout shows those whose endpoint exists."""

from flask import Blueprint, abort, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

bp = Blueprint("operator", __name__, url_prefix="/ops")

# (endpoint, label, endpoint prefixes that mark the item as current)
NAV = (
    ("operator.dashboard", _l("Tổng quan"), ("operator.dashboard",)),
    ("operator.producers", _l("Nhà sản xuất"), ("operator.producer",)),
    ("operator.certificates", _l("Giấy chứng nhận"), ("operator.certificate",)),
    ("operator.products", _l("Sản phẩm"), ("operator.product",)),
    ("operator.categories", _l("Danh mục"), ("operator.categor",)),
    ("operator.orders", _l("Đơn hàng"), ("operator.order",)),
    ("operator.reviews", _l("Đánh giá"), ("operator.review",)),
    ("operator.promotions", _l("Khuyến mãi"), ("operator.promotion", "operator.enrolment")),
    ("operator.vouchers", _l("Mã giảm giá"), ("operator.voucher",)),
    ("operator.bank_transfers", _l("Chuyển khoản"), ("operator.bank_",)),
    ("operator.payouts", _l("Đối soát"), ("operator.payout", "operator.ledger", "operator.commission")),
    ("operator.settings", _l("Cài đặt"), ("operator.setting",)),
    ("operator.failed_emails", _l("E-mail lỗi"), ("operator.failed_email",)),
    ("operator.audit", _l("Nhật ký"), ("operator.audit",)),
)


@bp.before_request
def operators_only():
    if not current_user.is_authenticated or current_user.role != "operator":
        abort(404)


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def operator_context():
    def operator_nav() -> list[dict]:
        endpoint = request.endpoint or ""
        return [
            {"url": url_for(name), "label": str(label), "active": endpoint.startswith(sections)}
            for name, label, sections in NAV
            if name in current_app.view_functions
        ]

    return {"operator_nav": operator_nav}
