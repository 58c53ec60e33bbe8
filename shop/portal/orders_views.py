"""Portal pages for orders: the dashboard, the producer's sub-orders with their
actions (confirm, ship, delivered, cancel lines or all), the packing slip and
the CSV export. Every read and every action is scoped by `producer_ids()`:
another producer's sub-order is a 404."""

from datetime import date, datetime

import segno
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.routing import BuildError

from shop.cancellations import services as cancellations
from shop.charts import sales_chart
from shop.errors import NotFound, ShopError
from shop.formatting import today_vn, vnd
from shop.inputs import parse_int
from shop.orders import csv_export as export
from shop.orders import services as orders
from shop.portal import bp
from shop.portal import order_queries as queries
from shop.portal.access import producer_ids, producer_required

TAB_LABELS = {
    "pending": _l("Mới"),
    "confirmed": _l("Đã xác nhận"),
    "shipped": _l("Đang giao"),
    "delivered": _l("Đã giao"),
    "cancelled": _l("Đã huỷ"),
}
PAYMENT_LABELS = {
    "cod": _l("COD – thu tiền khi giao"),
    "card_paid": _l("Đã thanh toán thẻ"),
    "transfer_paid": _l("Đã chuyển khoản"),
    "unpaid": _l("Chưa thanh toán"),
}
EVENT_LABELS = {
    "placed": _l("Khách đặt hàng"),
    "paid": _l("Khách đã thanh toán"),
    "confirmed": _l("Đã xác nhận"),
    "shipped": _l("Đã giao cho vận chuyển"),
    "delivered": _l("Đã giao tới khách"),
    "cancelled": _l("Đã huỷ"),
    "lines_cancelled": _l("Huỷ một phần"),
    "refunded": _l("Đã hoàn tiền vào thẻ"),
}


def _locale() -> str:
    return str(get_locale() or "vi")


# Suggestions for the carrier field; any other name can be typed.
CARRIERS = ("GHN", "GHTK", "Viettel Post", "VNPost", "J&T Express", "Ninja Van", "Best Express")


@bp.context_processor
def order_badges():
    """The count of new orders for the portal nav's badge, on portal pages only
    (a blueprint context processor) and once the producer is known."""
    if getattr(g, "producer", None) is None:
        return {}
    count = queries.new_order_count(producer_ids())
    return {"portal_new_orders": count, "portal_badges": {"portal.orders": count}}


def _helpers() -> dict:
    return {
        "tab_labels": TAB_LABELS,
        "payment_label": lambda order: str(PAYMENT_LABELS[queries.payment_state(order)]),
        "payment_state": queries.payment_state,
        "is_actionable": queries.is_actionable,
        "cod_to_collect": queries.cod_to_collect,
        "cancelled_total": lambda sub: sum(orders.cancelled_amount(line) for line in sub.lines),
    }


# --- dashboard ----------------------------------------------------------------------


def _restock_url(item: queries.LowStock) -> str | None:
    """Where the producer can change this SKU's stock, if the portal has such a page:
    the product's page (stock is edited inline there), else its edit form."""
    for endpoint, values in (
        ("portal.product", {"product_id": item.product_id, "_anchor": f"v-{item.variant_id}"}),
        ("portal.product_edit", {"product_id": item.product_id}),
    ):
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, **values)
            except BuildError:
                continue
    return None


@bp.get("")
@producer_required
def dashboard():
    today = today_vn()
    data = queries.dashboard(producer_ids(), today=today)
    return render_template(
        "portal/dashboard.html",
        data=data,
        chart=sales_chart(data.sales, today, _locale()),
        low_stock=[(item, _restock_url(item)) for item in data.low_stock],
        low_stock_limit=queries.LOW_STOCK,
    )


# --- list and detail -----------------------------------------------------------------


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1


@bp.get("/don-hang", endpoint="orders")
@producer_required
def order_list():
    status = request.args.get("status", "pending")
    if status not in queries.TABS:
        status = "pending"
    ids = producer_ids()
    return render_template(
        "portal/orders/list.html",
        status=status,
        result=queries.sub_orders(ids, status, _page_arg()),
        counts=queries.status_counts(ids),
        **_helpers(),
    )


def _event_text(event) -> str:
    label = str(EVENT_LABELS.get(event.kind, event.kind))
    note = event.note or ""
    if event.kind == "refunded":  # stored as "<amount> vnd: <reason>"
        amount, _sep, reason = note.partition(" vnd: ")
        if amount.isdigit():
            return f"{label}: {vnd(int(amount), _locale())} — {reason}"
    if event.kind == "placed":
        return label
    return f"{label}: {note}" if note else label


@bp.get("/don-hang/<int:sub_order_id>")
@producer_required
def order_detail(sub_order_id: int):
    sub = queries.sub_order(sub_order_id, producer_ids())
    events = [(e, _event_text(e)) for e in queries.timeline(sub) if e.kind in EVENT_LABELS]
    return render_template(
        "portal/orders/detail.html", sub=sub, order=sub.order, events=events, carriers=CARRIERS, **_helpers()
    )


def _back(sub_order_id: int):
    target = request.form.get("next", "")
    if target == "list":
        return redirect(url_for("portal.orders", status=request.form.get("status") or None), code=303)
    return redirect(url_for("portal.order_detail", sub_order_id=sub_order_id), code=303)


def _act(sub_order_id: int, action, done: str):
    """Run one state change; a refusal is shown on the page, a foreign id is a 404."""
    try:
        action()
    except NotFound:
        raise
    except ShopError as err:
        flash(str(err.message), "error")
    else:
        flash(done, "success")
    return _back(sub_order_id)


@bp.post("/don-hang/<int:sub_order_id>/xac-nhan")
@producer_required
def order_confirm(sub_order_id: int):
    return _act(
        sub_order_id,
        lambda: orders.confirm_sub_order(sub_order_id, producer_ids()),
        _("Đã xác nhận đơn. Hãy đóng gói và giao cho đơn vị vận chuyển."),
    )


@bp.post("/don-hang/<int:sub_order_id>/giao-hang")
@producer_required
def order_ship(sub_order_id: int):
    return _act(
        sub_order_id,
        lambda: orders.ship_sub_order(
            sub_order_id,
            request.form.get("carrier", ""),
            request.form.get("tracking_number", ""),
            producer_ids(),
        ),
        _("Đã chuyển đơn sang “Đang giao”. Khách sẽ nhận được mã vận đơn."),
    )


@bp.post("/don-hang/<int:sub_order_id>/da-giao")
@producer_required
def order_deliver(sub_order_id: int):
    queries.sub_order(sub_order_id, producer_ids())  # another producer's part: a 404 first
    if request.form.get("received") != "1":  # one tap is too easy for a step that cannot be undone
        flash(_("Đánh dấu ô “Khách đã nhận được hàng” rồi bấm “Đã giao”."), "error")
        return _back(sub_order_id)
    return _act(
        sub_order_id,
        lambda: orders.deliver_sub_order(sub_order_id, producer_ids()),
        _("Đã ghi nhận: khách đã nhận hàng."),
    )


def _line_quantities() -> dict[int, int]:
    wanted = {}
    for key, value in request.form.items():
        if not key.startswith("qty-"):
            continue
        line_id, quantity = parse_int(key[4:], minimum=1), parse_int(value.strip() or "0", minimum=0)
        if line_id is None or quantity is None:
            raise ShopError(_("Số lượng huỷ phải là số nguyên từ 0."), code="bad_quantity")
        wanted[line_id] = quantity
    return wanted


@bp.post("/don-hang/<int:sub_order_id>/huy-dong")
@producer_required
def order_cancel_lines(sub_order_id: int):
    return _act(
        sub_order_id,
        lambda: cancellations.cancel_lines(
            sub_order_id, _line_quantities(), request.form.get("reason", ""), producer_ids()
        ),
        _("Đã huỷ các dòng đã chọn; số hàng đó đã được trả lại kho."),
    )


@bp.post("/don-hang/<int:sub_order_id>/huy")
@producer_required
def order_cancel(sub_order_id: int):
    def cancel():
        sub = queries.sub_order(sub_order_id, producer_ids())
        # cancel_sub_order does not look at the payment: a card order still being
        # paid must not lose a part the shopper is about to pay for.
        if not queries.is_actionable(sub):
            raise orders.OrderStateError(_("Đơn hàng chưa được thanh toán."))
        cancellations.cancel_and_refund(sub_order_id, request.form.get("reason", ""), producer_ids())

    return _act(sub_order_id, cancel, _("Đã huỷ đơn. Hàng đã được trả lại kho."))


# --- packing slip -----------------------------------------------------------------------


@bp.get("/don-hang/<int:sub_order_id>/phieu")
@producer_required
def order_slip(sub_order_id: int):
    sub = queries.sub_order(sub_order_id, producer_ids())
    qr = segno.make(sub.order.number, error="m").svg_inline(scale=4, border=2, title=sub.order.number)
    return render_template("portal/orders/slip.html", sub=sub, order=sub.order, qr=Markup(qr), **_helpers())


# --- CSV export -------------------------------------------------------------------------


def parse_day(raw: str | None) -> date | None:
    """A date typed as dd/mm/yyyy (d/m/yyyy too) or sent as ISO yyyy-mm-dd; blank is None."""
    raw = (raw or "").strip()
    if not raw:
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ShopError(_("Ngày “%(value)s” không hợp lệ: nhập theo dạng dd/mm/yyyy.", value=raw[:20]), code="bad_date")


CSV_COLUMNS = (
    export.NUMBER,
    export.PLACED_AT,
    export.column(_l("Trạng thái"), lambda r: str(TAB_LABELS.get(r.sub.status, r.sub.status))),
    export.column(_l("Thanh toán"), lambda r: str(PAYMENT_LABELS[queries.payment_state(r.order)])),
    *export.DELIVERY,
    *export.ITEM,
    export.column(_l("Giảm giá"), lambda r: r.line.discount),
    export.LINE_TOTAL,
    export.SHIPPING_FEE,
    export.column(_l("Hóa đơn: công ty"), lambda r: r.order.invoice_company),
    export.column(_l("Hóa đơn: mã số thuế"), lambda r: r.order.invoice_tax_code),
    export.column(_l("Hóa đơn: địa chỉ"), lambda r: r.order.invoice_address),
    export.column(_l("Hóa đơn: email"), lambda r: r.order.invoice_email),
)


@bp.get("/don-hang.csv")
@producer_required
def orders_csv():
    status = request.args.get("status") or None
    if status is not None and status not in queries.TABS:
        abort(400)
    start, end = parse_day(request.args.get("from")), parse_day(request.args.get("to"))
    if start and end and start > end:
        raise ShopError(_("Ngày bắt đầu phải trước ngày kết thúc."), code="bad_date")
    rows = queries.export_rows(producer_ids(), status, start, end)
    filename = f"don-hang-{g.producer.slug}-{today_vn():%Y%m%d}.csv"
    return export.order_lines_csv(filename, CSV_COLUMNS, rows, _locale())
