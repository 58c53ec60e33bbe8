from flask import Blueprint, abort, current_app, get_template_attribute, jsonify, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from shop.formatting import vn_date
from shop.page_cache import cached_page
from shop.security import cookie_secure
from shop.settings.legal import operator_details
from shop.settings.services import get_int
from shop.templating import cart_count, new_order_count
from shop.urls import local_path, safe_redirect

bp = Blueprint("pages", __name__)

# Slug -> template under templates/pages/. These are the pages Vietnamese
# e-commerce rules ask a marketplace to publish (Decree 52/2013, 85/2021).
PAGES = (
    "gioi-thieu",  # about, incl. the demo-data notice
    "quy-che-hoat-dong",  # operating regulations
    "chinh-sach-thanh-toan",  # payment
    "chinh-sach-van-chuyen",  # delivery
    "chinh-sach-doi-tra",  # returns
    "giai-quyet-khieu-nai",  # complaints
    "chinh-sach-bao-mat",  # privacy
)


@bp.get("/trang/<slug>")
@cached_page
def page(slug: str):
    if slug not in PAGES:
        abort(404)
    return render_template(f"pages/{slug}.html", slug=slug, legal=_policy_values())


def _policy_values() -> dict[str, str]:
    """What the policies' sentences name, from the console's legal details and the
    settings in force; a detail the operator has not entered reads as a plain
    description instead of a placeholder."""
    op = operator_details()
    locale = str(get_locale())
    return {
        "legal_name": op.legal_name or current_app.config["SITE_NAME"],
        "business_code": op.business_code or _("(đang cập nhật)"),
        "address": op.address or _("(đang cập nhật)"),
        "hotline": op.hotline or _("của sàn"),
        "email": op.email or _("hỗ trợ của sàn"),
        "support_hours": op.support_hours or _("hành chính"),
        "cod_max": f"{get_int('cod_max_amount'):,}".replace(",", "."),
        "effective_date": vn_date(op.effective_date, locale) if op.effective_date else _("công bố trang này"),
    }


@bp.get("/ca-nhan")
def personal():
    """The personal parts of a shared cached page's header, as HTML fragments
    (cart count, account menu, verification banner); `next` is the page's own path."""
    here = local_path(request.args.get("next")) or "/"
    account_nav = get_template_attribute("_personal.html", "account_nav")
    verify_banner = get_template_attribute("_personal.html", "verify_banner")
    return jsonify(
        {
            "signed_in": current_user.is_authenticated,
            "cart": cart_count(),
            "account": str(account_nav(current_user, here, new_order_count())),
            "banner": str(verify_banner(current_user, here)),
        }
    )


@bp.post("/ngon-ngu")
def set_language():
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    response = redirect(safe_redirect(request.form.get("next"), "/"), code=303)
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True, secure=cookie_secure())
    return response
