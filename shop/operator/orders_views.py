"""Console pages for orders: search and filter every order (/ops/don-hang), its
CSV export, and one order with the operator's actions (cancel a part, refund,
cancel an unpaid order). A refusal is shown beside the form that caused it,
with its status (400 or 409); an unknown order or part is a 404."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from shop.bank import services as bank
from shop.errors import NotFound, ShopError
from shop.formatting import today_vn, vnd
from shop.operator import bp
from shop.operator import orders_services as admin
from shop.operator.forms import CancelForm, KeyedForm, RefundForm, keyed, show_error
from shop.operator.inputs import InputError, parse_dong, percent_text
from shop.orders import csv_export as export
from shop.orders.models import (
    ORDER_STATUS_LABELS,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    SUB_ORDER_STATUS_LABELS,
    SUB_ORDER_STATUSES,
)
from shop.paging import Page
from shop.portal.orders_views import EVENT_LABELS, parse_day

PAYMENT_LABELS = {"cod": _l("COD"), "card": _l("Thẻ"), "vietqr": _l("Chuyển khoản")}
MORE_EVENT_LABELS = {
    "payment_failed": _l("Thanh toán thẻ không thành công"),
    "payment_mismatch": _l("Số tiền thanh toán không khớp"),
    "paid_after_cancel": _l("Tiền đến sau khi đơn đã huỷ (tự hoàn)"),
    "partly_paid": _l("Đã nhận một phần tiền chuyển khoản"),
    "transfer_surplus": _l("Chuyển khoản thừa (chờ hoàn)"),
    "transfer_refund_due": _l("Chuyển khoản cần hoàn"),
    "revived": _l("Đơn được khôi phục khi tiền đến sau hạn giữ hàng"),
}
PAYMENT_STATUS_LABELS = {
    "succeeded": _l("Thành công"),
    "failed": _l("Thất bại"),
    "canceled": _l("Đã huỷ"),
    "mismatch": _l("Sai số tiền"),
    "refund_due": _l("Chờ hoàn"),
    "auto_refunded": _l("Đã tự hoàn"),
    "processing": _l("Đang xử lý"),
    "requires_action": _l("Chờ xác thực 3-D Secure"),
}


def _locale() -> str:
    return str(get_locale() or "vi")


def _arg_int(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def _query() -> tuple[admin.OrderQuery, dict]:
    """The filters from the query string, and the message of each one that does not parse."""
    errors: dict[str, str] = {}

    def parsed(name: str, parse):
        raw = request.args.get(name, "").strip()
        if not raw:
            return None
        try:
            return parse(raw)
        except ShopError as err:
            errors[name] = err.message
            return None

    query = admin.OrderQuery(
        q=request.args.get("q", "").strip()[:100],
        status=_choice("status", ORDER_STATUSES),
        sub_status=_choice("part", SUB_ORDER_STATUSES),
        payment_method=_choice("payment", PAYMENT_METHODS),
        producer_id=_arg_int("producer"),
        start=parsed("from", parse_day),
        end=parsed("to", parse_day),
        min_total=parsed("min", lambda raw: parse_dong(raw, "min")),
        max_total=parsed("max", lambda raw: parse_dong(raw, "max")),
        page=_arg_int("page") or 1,
    )
    if not errors:
        try:
            admin.check_query(query)
        except InputError as err:
            errors[err.field] = err.message
    return query, errors


def _filter_args() -> dict:
    return {k: v for k, v in request.args.items() if k != "page" and v}


@bp.get("/don-hang", endpoint="orders")
def orders():
    query, errors = _query()
    result = admin.search_orders(query) if not errors else Page([], 1)
    return render_template(
        "operator/orders.html",
        query=query,
        result=result,
        errors=errors,
        args=_filter_args(),
        producers=admin.producer_choices(),
        order_statuses=ORDER_STATUSES,
        sub_statuses=SUB_ORDER_STATUSES,
        payment_labels=PAYMENT_LABELS,
    ), (400 if errors else 200)


CSV_COLUMNS = (
    export.NUMBER,
    export.PLACED_AT,
    export.column(_l("Trạng thái đơn"), lambda r: str(ORDER_STATUS_LABELS.get(r.order.status, r.order.status))),
    export.column(_l("Thanh toán"), lambda r: str(PAYMENT_LABELS.get(r.order.payment_method, r.order.payment_method))),
    export.column(_l("Email"), lambda r: r.order.email),
    *export.DELIVERY,
    export.column(_l("Nhà sản xuất"), lambda r: r.sub.producer.name),
    export.column(_l("Trạng thái phần đơn"), lambda r: str(SUB_ORDER_STATUS_LABELS.get(r.sub.status, r.sub.status))),
    *export.ITEM,
    export.column(_l("Giảm giá khuyến mãi"), lambda r: r.line.promo_discount),
    export.column(_l("Giảm giá mã"), lambda r: r.line.voucher_discount),
    export.column(_l("Lý do giảm"), lambda r: r.line.discount_reason),
    export.LINE_TOTAL,
    export.SHIPPING_FEE,
    # Once per part and once per order, so that column sums add up.
    export.column(_l("Đã hoàn phần đơn"), lambda r: r.sub.refunded_amount if r.first_of_sub else ""),
    export.column(_l("Tổng đơn"), lambda r: r.order.total if r.first_of_order else ""),
)


@bp.get("/don-hang.csv", endpoint="orders_csv")
def orders_csv():
    query, errors = _query()
    if errors:
        raise ShopError(next(iter(errors.values())), code="bad_filter")
    rows = admin.export_rows(query)
    return export.order_lines_csv(f"don-hang-{today_vn():%Y%m%d}.csv", CSV_COLUMNS, rows, _locale())


# --- one order ------------------------------------------------------------------------------


def _event_text(event) -> str:
    label = str(EVENT_LABELS.get(event.kind) or MORE_EVENT_LABELS.get(event.kind) or event.kind)
    note = event.note or ""
    if event.kind == "refunded":  # stored as "<amount> vnd: <reason>"
        amount, _sep, reason = note.partition(" vnd: ")
        if amount.isdigit():
            return f"{label}: {vnd(int(amount), _locale())} — {reason}"
    if event.kind in ("paid", "paid_after_cancel", "payment_mismatch"):  # stored as "<amount> <currency>"
        amount, _sep, currency = note.partition(" ")
        if amount.isdigit() and currency.lower() == "vnd":
            return f"{label}: {vnd(int(amount), _locale())}"
    if event.kind == "placed":
        return label
    return f"{label}: {note}" if note else label


def _order_page(order_id: int, status: int = 200, summary: list | None = None, posted: tuple | None = None):
    """The order. `posted` is (key, form) of a refused cancel or refund, shown again as typed."""
    detail = admin.order_detail(order_id)
    return render_template(
        "operator/order.html",
        detail=detail,
        order=detail.order,
        events=[(e, _event_text(e)) for e in detail.order.events],
        refund_room=lambda sub: admin.refund_room(detail, sub),
        percent=lambda bp: percent_text(bp, _locale()),
        payment_labels=PAYMENT_LABELS,
        payment_status_labels=PAYMENT_STATUS_LABELS,
        transfers=bank.transfers_of_order(order_id),
        cancel_form=keyed(CancelForm, posted),
        refund_form=keyed(RefundForm, posted),
        summary=summary or [],
    ), status


@bp.get("/don-hang/<int:order_id>", endpoint="order")
def order(order_id: int):
    return _order_page(order_id)


def _act(order_id: int, key: str, form: KeyedForm, action, done, anchor: str):
    """Run one action on the order; a refusal is shown at the top of the page and
    in the form `key` names (when the order still offers that form), beside the
    field it is about."""
    try:
        result = action()
    except NotFound:
        raise
    except ShopError as err:
        show_error(form, getattr(err, "field", None), err.message)
        return _order_page(order_id, err.status, [(err.message, anchor)], (key, form))
    flash(done(result) if callable(done) else done, "success")
    return redirect(url_for(".order", order_id=order_id, _anchor=key), code=303)


@bp.post("/don-hang/<int:order_id>/phan/<int:sub_order_id>/huy", endpoint="order_cancel_part")
def order_cancel_part(order_id: int, sub_order_id: int):
    form = CancelForm()
    return _act(
        order_id,
        f"huy-{sub_order_id}",
        form,
        lambda: admin.cancel_sub_order(current_user.id, order_id, sub_order_id, form.reason.data or ""),
        _("Đã huỷ phần đơn. Hàng đã về kho; tiền thẻ (nếu có) đã được hoàn."),
        f"phan-{sub_order_id}",
    )


@bp.post("/don-hang/<int:order_id>/phan/<int:sub_order_id>/hoan-tien", endpoint="order_refund")
def order_refund(order_id: int, sub_order_id: int):
    form = RefundForm()

    def refund():
        whole = form.mode.data == "all"
        amount = None if whole else parse_dong(form.amount.data, "amount", positive=True)
        return admin.refund_sub_order(current_user.id, order_id, sub_order_id, amount, form.reason.data or "")

    return _act(
        order_id,
        f"hoan-{sub_order_id}",
        form,
        refund,
        lambda amount: _("Đã hoàn %(amount)s vào thẻ của người mua.", amount=vnd(amount, _locale())),
        f"phan-{sub_order_id}",
    )


@bp.post("/don-hang/<int:order_id>/huy", endpoint="order_cancel")
def order_cancel(order_id: int):
    form = CancelForm()
    return _act(
        order_id,
        "huy-don",
        form,
        lambda: admin.cancel_order(current_user.id, order_id, form.reason.data or ""),
        _("Đã huỷ cả đơn. Hàng đã về kho và người mua đã được báo."),
        "huy-don",
    )
