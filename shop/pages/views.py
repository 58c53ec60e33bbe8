from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request
from flask_wtf.csrf import generate_csrf

from shop.cache import cached_page
from shop.extensions import csrf

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
    return render_template(f"pages/{slug}.html", slug=slug)


@bp.get("/phien")
def session_token():
    """A CSRF token for forms on cached pages (see templates/_forms.html). It starts
    the visitor's session, so their next pages are rendered for them alone."""
    response = jsonify({"csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/ngon-ngu")
@csrf.exempt  # only sets a display-language cookie: no account or data changes, so
# a forged request can do no harm, and the cached pages stay free of per-visitor tokens.
def set_language():
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    target = request.form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target, code=303)
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
