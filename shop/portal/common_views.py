"""What every portal page shares: the navigation (templates/portal/_layout.html),
no shared caching, the page for an upload that is too large, and the small
helpers the portal's route modules use.
"""

from urllib.parse import urlsplit

from flask import abort, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.accounts.forms import ActionForm
from shop.errors import json_error, wants_json
from shop.places import queries as places
from shop.portal import bp, catalog_services
from shop.portal.access import producer_ids
from shop.portal.certificate_services import CertificateDetails
from shop.portal.forms import (
    CERTIFICATE_STATE_LABELS,
    PRODUCT_STATUS_LABELS,
)
from shop.portal.inputs import Upload
from shop.urls import local_path as safe_next

# (endpoint candidates, label, owner only, endpoint prefixes of the section). The first
# endpoint that exists is linked, so pages written by others appear once registered.
NAV = (
    (("portal.dashboard", "portal.index", "portal.home"), _l("Tổng quan"), False, ("portal.dashboard",)),
    (("portal.orders", "portal.order_list"), _l("Đơn hàng"), False, ("portal.order",)),
    (("portal.products",), _l("Sản phẩm"), False, ("portal.product", "portal.variant", "portal.image")),
    (("portal.certificates",), _l("Giấy chứng nhận"), False, ("portal.certificate",)),
    (("portal.reviews",), _l("Đánh giá"), False, ("portal.reviews",)),
    (("portal.sync_stock",), _l("Đồng bộ kho"), False, ("portal.sync",)),
    (("portal.promotions",), _l("Khuyến mãi"), False, ("portal.promotion", "portal.enrolment")),
    (("portal.payouts",), _l("Đối soát"), True, ("portal.payout", "portal.ledger")),
    (("portal.members",), _l("Thành viên"), True, ("portal.member",)),
    (("portal.settings",), _l("Cài đặt"), False, ("portal.settings", "portal.bank")),
)


@bp.context_processor
def portal_context():
    def portal_nav() -> list[dict]:
        producer = getattr(g, "producer", None)
        if producer is None or producer.status != "approved":
            return []  # applicants see their application, not a shop they cannot use yet
        endpoint = request.endpoint or ""
        items = []
        for candidates, label, owner_only, section in NAV:
            if owner_only and g.producer_role != "owner":
                continue
            found = next((e for e in candidates if e in current_app.view_functions), None)
            if found is not None:
                items.append(
                    {
                        "endpoint": found,
                        "url": url_for(found),
                        "label": str(label),
                        "active": endpoint.startswith(section),
                    }
                )
        return items

    return {
        "portal_nav": portal_nav,
        "is_owner": getattr(g, "producer_role", None) == "owner",
        "product_status_label": lambda s: str(PRODUCT_STATUS_LABELS.get(s, s)),
        "certificate_state_label": lambda s: str(CERTIFICATE_STATE_LABELS.get(s, s)),
    }


@bp.after_request
def no_store(response):
    # Portal pages carry a shop's private data and CSRF tokens: never kept by a shared cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(err):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = _(
        "Tệp tải lên quá lớn (tối đa %(mb)d MB mỗi lần). Hãy chọn ít ảnh hơn hoặc ảnh nhỏ hơn.", mb=limit // 2**20
    )
    if wants_json():
        return json_error(413, "too_large", message)
    referrer = urlsplit(request.referrer or "")
    back = referrer.path if referrer.netloc == request.host and referrer.path.startswith("/") else None
    return render_template("portal/catalog/too_large.html", message=message, back=back), 413


def _pid() -> int:
    """The producer this request acts for (producer_required guarantees one)."""
    return producer_ids()[0]


def _upload(storage) -> Upload | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return Upload(filename=storage.filename, data=storage.read())


def _check_csrf() -> None:
    """A button-only form: CSRF token checked (CSRFError otherwise), nothing else to read."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _back(default: str) -> str:
    return safe_next(request.form.get("next")) or default


def _province_choices(placeholder: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", placeholder)] if placeholder else []
    return head + [SelectChoice(p.id, p.name, {"data-slug": p.slug}) for p in places.provinces()]


def _category_choices() -> list[SelectChoice]:
    """The most specific OCOP categories, grouped under their product group."""
    locale = str(get_locale())
    leaves = catalog_services.leaf_categories()
    by_id = {c.id: c for c in catalog_services.all_categories()}
    out = [SelectChoice("", _("— Chọn nhóm sản phẩm —"))]
    for c in leaves:
        top = c
        while top.parent_id:
            top = by_id[top.parent_id]
        out.append(SelectChoice(c.id, c.name(locale), optgroup=f"{top.code}. {top.name(locale)}"))
    return out


def _certificate_details(form) -> CertificateDetails:
    return CertificateDetails(
        stars=form.stars.data,
        decision_number=form.decision_number.data or "",
        decision_date=form.decision_date.data,
        issuing_level=form.issuing_level.data or "",
        issuing_province_id=getattr(form, "issuing_province_id", None) and form.issuing_province_id.data,
    )
