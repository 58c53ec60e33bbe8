"""The console's producers (applications, approval, suspension, a producer's file)
and certificates (verify or reject, the uploaded document). Views parse the
request, call one service or query, render.

Only operators get here (`shop.operator.operators_only`); a decision that cannot
be taken (missing reason, stale state) is shown on the page again with a 400, a
row that does not exist is a 404 with a message.
"""

import io
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from shop.errors import NotFound
from shop.formatting import today_vn
from shop.inputs import parse_int
from shop.operator import bp, producers_services, queries
from shop.operator.forms import (
    ApproveForm,
    ReinstateReasonForm,
    RejectReasonForm,
    ReviewReasonForm,
    SuspendReasonForm,
    keyed,
    show_error,
)
from shop.operator.producers_services import ReviewError
from shop.operator.view_helpers import _int_arg, _next, _page
from shop.portal.files import document_file
from shop.portal.forms import CERTIFICATE_STATE_LABELS
from shop.portal.images import DOCUMENT_TYPES
from shop.storage import CERTIFICATES, storage


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
        counts=queries.producer_status_counts(),
        applications=queries.pending_applications() if show_queue else [],
        provinces=queries.provinces(),
        filters={"status": status, "province": province_id, "q": q},
        status_labels=queries.PRODUCER_STATUS_LABELS,
        state_labels=CERTIFICATE_STATE_LABELS,
        reject_form=keyed(RejectReasonForm, None),
    )


def _not_found(message: str, back_endpoint: str, back_label: str):
    """A console 404 that says what was not found (and that nothing changed)."""
    return render_template(
        "operator/not_found.html", message=message, back=url_for(back_endpoint), back_label=back_label
    ), 404


def _refused(posted: tuple | None) -> dict:
    """{key: message} of a refused decision (`posted` is (key, form)), for the page's
    summary when that form is no longer offered."""
    if posted is None:
        return {}
    form = posted[1]
    return {posted[0]: " ".join(str(m) for m in [*form.form_errors, *form.reason.errors])}


def _producer_page(producer_id: int, posted: tuple | None = None, status: int = 200):
    """The producer's file. `posted` is (action, form) of a refused decision, shown again as typed."""
    file = queries.producer_file(producer_id)
    if file is None:
        return _not_found(_("Không tìm thấy nhà sản xuất."), ".producers", _("Về danh sách nhà sản xuất"))
    return render_template(
        "operator/producer.html",
        file=file,
        status_labels=queries.PRODUCER_STATUS_LABELS,
        state_labels=CERTIFICATE_STATE_LABELS,
        ledger_labels=queries.LEDGER_KIND_LABELS,
        reject_form=keyed(RejectReasonForm, posted),
        suspend_form=keyed(SuspendReasonForm, posted),
        reinstate_form=keyed(ReinstateReasonForm, posted),
        errors=_refused(posted),
    ), status


@bp.get("/nha-san-xuat/<int:producer_id>")
def producer(producer_id: int):
    return _producer_page(producer_id)


def _producer_action(producer_id: int, action: str, form: ReviewReasonForm, call, done: str):
    if not form.validate_on_submit():
        abort(400)  # no CSRF token: nothing to show again (the reason is judged by the service)
    try:
        call(current_user.id, producer_id, form.reason.data or "")
    except NotFound as err:
        return _not_found(err.message, ".producers", _("Về danh sách nhà sản xuất"))
    except ReviewError as err:
        show_error(form, err.field, err.message)
        return _producer_page(producer_id, (action, form), 400)
    flash(done, "success")
    return redirect(_next(url_for(".producer", producer_id=producer_id)))


@bp.post("/ho-so/<int:producer_id>/duyet")
def approve(producer_id: int):
    # The certificates ticked "verify now" (ids that do not parse name nothing).
    form = ApproveForm()
    verify = tuple(n for raw in form.verify_certificate.data or () if (n := parse_int(raw)) is not None)
    waiting: list[int] = []

    def decide(actor: int, pid: int, reason: str) -> None:
        waiting.append(producers_services.decide_application(actor, pid, True, reason, verify))

    response = _producer_action(producer_id, "approve", form, decide, _("Đã duyệt hồ sơ."))
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
        RejectReasonForm(),
        lambda actor, pid, reason: producers_services.decide_application(actor, pid, False, reason),
        _("Đã từ chối hồ sơ."),
    )


@bp.post("/nha-san-xuat/<int:producer_id>/tam-ngung")
def suspend_producer(producer_id: int):
    return _producer_action(
        producer_id,
        "suspend",
        SuspendReasonForm(),
        producers_services.suspend_producer,
        _("Đã tạm ngưng nhà sản xuất; sản phẩm của họ không còn hiển thị."),
    )


@bp.post("/nha-san-xuat/<int:producer_id>/mo-lai")
def reinstate_producer(producer_id: int):
    return _producer_action(
        producer_id,
        "reinstate",
        ReinstateReasonForm(),
        producers_services.reinstate_producer,
        _("Đã mở lại nhà sản xuất; sản phẩm đang bán hiển thị trở lại."),
    )


def _certificates_page(tab: str, posted: tuple | None = None, status: int = 200):
    """A tab of certificates. `posted` is (certificate id, form) of a refused rejection."""
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
        reject_form=keyed(RejectReasonForm, posted),
        errors=_refused(posted),
        state_labels=CERTIFICATE_STATE_LABELS,
        status_labels=queries.PRODUCER_STATUS_LABELS,
    ), status


@bp.get("/giay-chung-nhan")
def certificates():
    return _certificates_page(request.args.get("tab", "pending"))


def _certificate_action(certificate_id: int, verify: bool, done: str):
    form = RejectReasonForm()
    if not form.validate_on_submit():
        abort(400)  # no CSRF token
    try:
        producers_services.decide_certificate(current_user.id, certificate_id, verify, form.reason.data or "")
    except NotFound as err:
        return _not_found(err.message, ".certificates", _("Về danh sách giấy chứng nhận"))
    except ReviewError as err:
        show_error(form, err.field, err.message)
        return _certificates_page("pending", (certificate_id, form), 400)
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
    certificate = producers_services.get_certificate(certificate_id)
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
