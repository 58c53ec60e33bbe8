"""The operator's screen: pending producer applications and certificates.

Only operators see it; anyone else gets a 404, as if it did not exist."""

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _

from shop.operator import bp, services
from shop.operator.services import ReviewError
from shop.portal.forms import CERTIFICATE_STATE_LABELS, ReasonForm
from shop.portal.images import DOCUMENT_TYPES
from shop.portal.services import document_file


def _index(errors: dict | None = None, status: int = 200):
    return render_template(
        "operator/index.html",
        applications=services.pending_applications(),
        certificates=services.pending_certificates(),
        form=ReasonForm(formdata=None),
        errors=errors or {},
        state_labels=CERTIFICATE_STATE_LABELS,
    ), status


@bp.get("/")
def dashboard():
    return _index()


def _decide(kind: str, target_id: int, decide, yes: bool, done: str):
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        decide(target_id, yes, form.reason.data or "")
    except ReviewError as err:
        return _index({(kind, target_id): err.message}, 400)
    flash(done, "success")
    return redirect(url_for(".dashboard"))


@bp.post("/ho-so/<int:producer_id>/duyet")
def approve(producer_id: int):
    return _decide("producer", producer_id, services.decide_application, True, _("Đã duyệt hồ sơ."))


@bp.post("/ho-so/<int:producer_id>/tu-choi")
def reject(producer_id: int):
    return _decide("producer", producer_id, services.decide_application, False, _("Đã từ chối hồ sơ."))


@bp.post("/giay-chung-nhan/<int:certificate_id>/xac-minh")
def verify_certificate(certificate_id: int):
    return _decide("certificate", certificate_id, services.decide_certificate, True, _("Đã xác minh giấy chứng nhận."))


@bp.post("/giay-chung-nhan/<int:certificate_id>/tu-choi")
def reject_certificate(certificate_id: int):
    return _decide("certificate", certificate_id, services.decide_certificate, False, _("Đã từ chối giấy chứng nhận."))


@bp.get("/giay-chung-nhan/<int:certificate_id>/tai-lieu")
def certificate_document(certificate_id: int):
    """The decision document a producer uploaded; kept outside the public media folder."""
    certificate = services.get_certificate(certificate_id)
    path = document_file(certificate)
    if path is None:
        abort(404)
    ext = path.suffix.lstrip(".")
    response = send_file(
        path,
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
