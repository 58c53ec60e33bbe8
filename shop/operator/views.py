"""The console's front: dashboard, producers (applications, suspension), certificates
and the audit log. Views parse the request, call one service or query, render.

Only operators get here (`shop.operator.operators_only`); a decision that cannot
be taken (missing reason, stale state) is shown on the page again with a 400, a
row that does not exist is a 404 with a message."""

import io
import time
from dataclasses import dataclass
from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from shop.errors import NotFound
from shop.formatting import today_vn, vn_date, vnd
from shop.health.heartbeats import read_heartbeats
from shop.inputs import parse_int
from shop.operator import bp, queries, services
from shop.operator.services import ReviewError
from shop.portal.forms import CERTIFICATE_STATE_LABELS, ReasonForm
from shop.portal.images import DOCUMENT_TYPES
from shop.portal.services import document_file
from shop.queue import QUEUES, queue_depths
from shop.storage import CERTIFICATES, storage
from shop.urls import local_path


def _locale() -> str:
    return str(get_locale() or "vi")


def _int_arg(name: str) -> int | None:
    return parse_int(request.args.get(name), minimum=1)


def _page() -> int:
    return _int_arg("page") or 1


def _next(default: str) -> str:
    """Where to go after a decision: a console page the form named, else `default`."""
    target = local_path(request.form.get("next"))
    if target and target.startswith("/ops/"):
        return target
    return default


# --- audit helpers for every console template ------------------------------------------------

# target_type -> (endpoint, argument name or None) of the console page that shows it.
TARGET_PAGES = {
    "producer": ("operator.producer", "producer_id"),
    "order": ("operator.order", "order_id"),
    "promotion": ("operator.promotion_edit", "promotion_id"),
    "voucher": ("operator.voucher", "voucher_id"),
    "payout": ("operator.payout", "payout_id"),
    "category": ("operator.categories", None),
    "setting": ("operator.settings", None),
    "shipping_rate": ("operator.settings", None),
}


@bp.app_template_global()
def audit_target_url(entry) -> str | None:
    """The console page of an audit entry's target, if there is one."""
    page = TARGET_PAGES.get(entry.target_type)
    if page is None or page[0] not in current_app.view_functions:
        return None
    endpoint, argument = page
    if argument is not None and entry.target_id is None:
        return None
    try:
        return url_for(endpoint, **({argument: entry.target_id} if argument else {}))
    except BuildError:
        return None


@bp.app_template_global()
def audit_changes(entry) -> list[tuple[str, str, str]]:
    """(field label, before, after) for each field the entry changed, as people read them."""
    loc = _locale()
    return [
        (
            c.label,
            queries.display_value(c.field, c.before, loc, entry.target_type),
            queries.display_value(c.field, c.after, loc, entry.target_type),
        )
        for c in queries.changes(entry.before, entry.after)
        # A reason field that just took the entry's reason is shown once, as the reason.
        if not (c.field.endswith("reason") and c.after and c.after == entry.reason and not c.before)
    ]


@bp.app_template_global()
def audit_action_label(action: str) -> str:
    return str(queries.ACTION_LABELS.get(action, action))


@bp.app_template_global()
def audit_target_label(target_type: str) -> str:
    return str(queries.TARGET_LABELS.get(target_type, target_type))


# --- dashboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    is_today: bool


@dataclass(frozen=True)
class DayChart:
    """Two bands of bars on one day axis. The SVGs stretch to the panel's width
    (preserveAspectRatio="none") at a fixed CSS height, so the day labels are HTML
    placed at `ticks` (percent of the width) and stay readable on a phone."""

    width: int
    gmv_height: int
    orders_height: int
    gmv_bars: list[Bar]
    order_bars: list[Bar]
    ticks: list[tuple[float, str, str]]  # (left %, "start" | "middle" | "end", "dd/mm")
    gmv_peak: str
    orders_peak: int
    summary: str


def day_chart(days: list[queries.DayFigure], today: date, locale: str) -> DayChart:
    """GMV bars over order-count bars, one column per day: the best day is full
    height in each band."""
    width, gmv_h, orders_h = 600, 100, 100
    step = width / max(len(days), 1)
    pad = step * 0.15
    peak = max((d.gmv for d in days), default=0) or 1
    peak_orders = max((d.orders for d in days), default=0) or 1
    every = 1 if len(days) <= 7 else 7 if len(days) <= 31 else 14
    gmv_bars, order_bars, ticks = [], [], []
    for i, d in enumerate(days):
        label = _(
            "%(day)s: %(amount)s · %(count)s đơn",
            day=d.day.strftime("%d/%m"),
            amount=vnd(d.gmv, locale),
            count=d.orders,
        )
        x, w = round(i * step + pad, 2), round(step - 2 * pad, 2)
        h = round(gmv_h * d.gmv / peak, 2) if d.gmv else 0
        gmv_bars.append(Bar(x, gmv_h - h, w, h, label, d.day == today))
        h = round(orders_h * d.orders / peak_orders, 2) if d.orders else 0
        order_bars.append(Bar(x, orders_h - h, w, h, label, d.day == today))
        back = len(days) - 1 - i  # days before today
        centre = round(100 * (i + 0.5) / len(days), 2)
        if back == 0:
            ticks.append((100, "end", d.day.strftime("%d/%m")))
        elif back % every == 0 and (len(days) <= 7 or 8 <= centre <= 88):
            ticks.append((centre, "middle", d.day.strftime("%d/%m")))
    total, count = sum(d.gmv for d in days), sum(d.orders for d in days)
    if total:
        best = max(days, key=lambda d: (d.gmv, d.day))
        summary = _(
            "%(days)s ngày: %(total)s từ %(count)s đơn. Ngày cao nhất: %(day)s (%(best)s).",
            days=len(days),
            total=vnd(total, locale),
            count=count,
            day=vn_date(best.day, locale),
            best=vnd(best.gmv, locale),
        )
    else:
        summary = _("Chưa có đơn hàng nào trong %(days)s ngày này.", days=len(days))
    return DayChart(
        width,
        gmv_h,
        orders_h,
        gmv_bars,
        order_bars,
        ticks,
        vnd(peak if total else 0, locale),
        peak_orders if count else 0,
        summary,
    )


def bars(slices: list[queries.Slice]) -> list[tuple[queries.Slice, float]]:
    """Each slice with its bar's width in percent of the largest."""
    peak = max((s.amount for s in slices), default=0) or 1
    return [(s, round(100 * s.amount / peak, 1)) for s in slices]


@bp.get("/")
def dashboard():
    days = queries.period_days(request.args.get("days"))
    data = queries.dashboard(days, waiting_limit=8)
    return render_template(
        "operator/dashboard.html",
        data=data,
        periods=queries.PERIODS,
        chart=day_chart(data.by_day, data.last, _locale()),
        bars=bars,
        hours=queries.WAITING_HOURS,
        processes=background_processes(),
    )


def background_processes() -> dict:
    """Workers and beat as their heartbeats tell (shop.health.heartbeats), with the
    queues nobody serves and how many tasks wait in each."""
    beats = read_heartbeats()
    now = time.time()
    for beat in beats:
        beat["age"] = max(0, int(now - beat.get("at", now)))
    served = {q for b in beats if b.get("kind") == "worker" for q in b.get("queues", [])}
    return {
        "beats": beats,
        "has_beat": any(b.get("kind") == "beat" for b in beats),
        "unserved": [q for q in QUEUES if q not in served],
        "depths": queue_depths(),
    }


# --- producers -----------------------------------------------------------------------------


@bp.get("/nha-san-xuat")
def producers():
    status = request.args.get("status", "")
    status = status if status in queries.PRODUCER_STATUS_LABELS else ""
    province_id = _int_arg("province")
    q = request.args.get("q", "").strip()[:100]
    result = queries.producers(status or None, province_id, q, _page())
    show_queue = status in ("", "pending") and not province_id and not q and result.page == 1
    return render_template(
        "operator/producers.html",
        result=result,
        applications=queries.pending_applications() if show_queue else [],
        provinces=queries.provinces(),
        filters={"status": status, "province": province_id, "q": q},
        status_labels=queries.PRODUCER_STATUS_LABELS,
        state_labels=CERTIFICATE_STATE_LABELS,
        form=ReasonForm(formdata=None),
        errors={},
    )


def _not_found(message: str, back_endpoint: str, back_label: str):
    """A console 404 that says what was not found (and that nothing changed)."""
    return render_template(
        "operator/not_found.html", message=message, back=url_for(back_endpoint), back_label=back_label
    ), 404


def _producer_page(producer_id: int, errors: dict | None = None, status: int = 200):
    file = queries.producer_file(producer_id)
    if file is None:
        return _not_found(_("Không tìm thấy nhà sản xuất."), ".producers", _("Về danh sách nhà sản xuất"))
    return render_template(
        "operator/producer.html",
        file=file,
        status_labels=queries.PRODUCER_STATUS_LABELS,
        state_labels=CERTIFICATE_STATE_LABELS,
        ledger_labels=queries.LEDGER_KIND_LABELS,
        form=ReasonForm(formdata=None),
        errors=errors or {},
        typed=request.form.get("reason", "") if errors else "",
    ), status


@bp.get("/nha-san-xuat/<int:producer_id>")
def producer(producer_id: int):
    return _producer_page(producer_id)


def _producer_action(producer_id: int, action: str, call, done: str):
    form = ReasonForm()
    if not form.validate_on_submit():
        if form.errors.keys() - {"reason"}:
            abort(400)  # no CSRF token: nothing to show again
        return _producer_page(producer_id, {action: _("Lý do dài tối đa %(n)s ký tự.", n=services.REASON_MAX)}, 400)
    try:
        call(current_user.id, producer_id, form.reason.data or "")
    except NotFound as err:
        return _not_found(err.message, ".producers", _("Về danh sách nhà sản xuất"))
    except ReviewError as err:
        return _producer_page(producer_id, {action: err.message}, 400)
    flash(done, "success")
    return redirect(_next(url_for(".producer", producer_id=producer_id)))


@bp.post("/ho-so/<int:producer_id>/duyet")
def approve(producer_id: int):
    # The certificates ticked "verify now" (ids that do not parse name nothing).
    verify = tuple(n for raw in request.form.getlist("verify_certificate") if (n := parse_int(raw)) is not None)
    waiting: list[int] = []

    def decide(actor: int, pid: int, reason: str) -> None:
        waiting.append(services.decide_application(actor, pid, True, reason, verify))

    response = _producer_action(producer_id, "approve", decide, _("Đã duyệt hồ sơ."))
    if waiting and waiting[0]:
        flash(
            ngettext(
                "%(num)d giấy chứng nhận vẫn chờ xác minh: sản phẩm của nó chưa được bán cho đến khi xác minh.",
                "%(num)d giấy chứng nhận vẫn chờ xác minh: sản phẩm của chúng chưa được bán cho đến khi xác minh.",
                waiting[0],
            ),
            "info",
        )
    return response


@bp.post("/ho-so/<int:producer_id>/tu-choi")
def reject(producer_id: int):
    return _producer_action(
        producer_id,
        "reject",
        lambda actor, pid, reason: services.decide_application(actor, pid, False, reason),
        _("Đã từ chối hồ sơ."),
    )


@bp.post("/nha-san-xuat/<int:producer_id>/tam-ngung")
def suspend_producer(producer_id: int):
    return _producer_action(
        producer_id,
        "suspend",
        services.suspend_producer,
        _("Đã tạm ngưng nhà sản xuất; sản phẩm của họ không còn hiển thị."),
    )


@bp.post("/nha-san-xuat/<int:producer_id>/mo-lai")
def reinstate_producer(producer_id: int):
    return _producer_action(
        producer_id,
        "reinstate",
        services.reinstate_producer,
        _("Đã mở lại nhà sản xuất; sản phẩm đang bán hiển thị trở lại."),
    )


# --- certificates ----------------------------------------------------------------------------


def _certificates_page(tab: str, errors: dict | None = None, status: int = 200):
    today = today_vn()
    if tab == "expiring":
        items = queries.expiring_certificates(today)
    elif tab == "expired":
        items = queries.expired_certificates(today)
    else:
        tab, items = "pending", queries.pending_certificates()
    return render_template(
        "operator/certificates.html",
        tab=tab,
        items=items,
        counts=queries.certificate_counts(today),
        today=today,
        soon=today + timedelta(days=queries.EXPIRING_DAYS),
        expiring_days=queries.EXPIRING_DAYS,
        form=ReasonForm(formdata=None),
        errors=errors or {},
        typed=request.form.get("reason", "") if errors else "",
        state_labels=CERTIFICATE_STATE_LABELS,
        status_labels=queries.PRODUCER_STATUS_LABELS,
    ), status


@bp.get("/giay-chung-nhan")
def certificates():
    return _certificates_page(request.args.get("tab", "pending"))


def _certificate_action(certificate_id: int, verify: bool, done: str):
    form = ReasonForm()
    if not form.validate_on_submit():
        if form.errors.keys() - {"reason"}:
            abort(400)
        return _certificates_page(
            "pending", {certificate_id: _("Lý do dài tối đa %(n)s ký tự.", n=services.REASON_MAX)}, 400
        )
    try:
        services.decide_certificate(current_user.id, certificate_id, verify, form.reason.data or "")
    except NotFound as err:
        return _not_found(err.message, ".certificates", _("Về danh sách giấy chứng nhận"))
    except ReviewError as err:
        return _certificates_page("pending", {certificate_id: err.message}, 400)
    flash(done, "success")
    return redirect(_next(url_for(".certificates")))


@bp.post("/giay-chung-nhan/<int:certificate_id>/xac-minh")
def verify_certificate(certificate_id: int):
    return _certificate_action(certificate_id, True, _("Đã xác minh giấy chứng nhận."))


@bp.post("/giay-chung-nhan/<int:certificate_id>/tu-choi")
def reject_certificate(certificate_id: int):
    return _certificate_action(certificate_id, False, _("Đã từ chối giấy chứng nhận."))


@bp.get("/giay-chung-nhan/<int:certificate_id>/tai-lieu")
def certificate_document(certificate_id: int):
    """The decision document a producer uploaded; kept outside the public media folder."""
    certificate = services.get_certificate(certificate_id)
    key = document_file(certificate)
    if key is None:
        abort(404)
    ext = key.rsplit(".", 1)[-1]
    local = storage().local_path(CERTIFICATES, key)
    # From the shared store the bytes pass through here, after the operator check above:
    # a private document never gets a public URL.
    response = send_file(
        local if local is not None else io.BytesIO(storage().get(CERTIFICATES, key)),
        mimetype=DOCUMENT_TYPES.get(ext, "application/octet-stream"),
        download_name=f"ocop-{certificate.id}.{ext}",
        # A PDF is downloaded and opened outside the browser: an uploaded PDF never
        # runs in our origin, and Chromium will not show one under "sandbox".
        as_attachment=ext == "pdf",
        max_age=0,
    )
    # An image is shown inline, but may never run anything in our origin.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- audit log ---------------------------------------------------------------------------------


@bp.get("/nhat-ky")
def audit():
    action = request.args.get("action", "").strip()[:64]
    target_type = request.args.get("type", "").strip()[:32]
    actor_id = _int_arg("actor")
    target_id = _int_arg("target")
    result = queries.audit_page(action, target_type, actor_id, target_id, _page())
    return render_template(
        "operator/audit.html",
        result=result,
        options=queries.audit_filters(),
        filters={"action": action, "type": target_type, "actor": actor_id, "target": target_id},
    )
