"""The buyer's review pages (/danh-gia) and the console's moderation (/ops/danh-gia)."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from shop.errors import ShopError
from shop.inputs import parse_int
from shop.operator import bp as ops
from shop.orders.models import OrderLine
from shop.portal import bp as portal
from shop.portal.access import producer_required
from shop.reviews import queries, services
from shop.reviews.forms import HideReviewForm, ReviewForm

bp = Blueprint("reviews", __name__, url_prefix="/danh-gia")


def _id(raw: str) -> int:
    value = parse_int(raw, minimum=1)
    if value is None:
        abort(404)
    return value


def _photos() -> list[services.Photo]:
    return [services.Photo(f.filename or "", f.read()) for f in request.files.getlist("photos") if f]


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _order_url(line: OrderLine) -> str:
    return url_for("orders.detail", number=line.sub_order.order.number)


@bp.route("/viet/<line_id>", methods=["GET", "POST"])
@login_required
def write(line_id: str):
    line = services.reviewable_line(current_user.id, _id(line_id))
    existing = queries.by_line_of_order(line.sub_order.order).get(line.id)
    if existing is not None:
        return redirect(url_for(".edit", review_id=existing.id), code=303)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.write_review(
                current_user.id,
                line.id,
                parse_int(form.rating.data, minimum=1, maximum=5),
                form.body.data or "",
                _photos(),
            )
        except ShopError as err:
            form.form_errors.append(err.message)
        else:
            flash(_("Cảm ơn bạn đã đánh giá!"), "success")
            return redirect(_order_url(line), code=303)
    return render_template("reviews/form.html", form=form, line=line, review=None, order_url=_order_url(line))


@bp.route("/<review_id>/sua", methods=["GET", "POST"])
@login_required
def edit(review_id: str):
    review = queries.own_review(current_user.id, _id(review_id))
    if review is None:
        abort(404)
    line = queries.line_of(review)
    form = ReviewForm(data={"rating": str(review.rating), "body": review.body} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.edit_review(
                current_user.id,
                review.id,
                parse_int(form.rating.data, minimum=1, maximum=5),
                form.body.data or "",
                _photos(),
            )
        except ShopError as err:
            form.form_errors.append(err.message)
        else:
            flash(_("Đã lưu đánh giá."), "success")
            return redirect(_order_url(line), code=303)
    return render_template(
        "reviews/form.html",
        form=form,
        line=line,
        review=review,
        editable=services.can_edit(review),
        order_url=_order_url(line),
    )


@ops.get("/danh-gia")
def reviews():
    state = request.args.get("trang-thai", "")
    hidden = {"an": True, "hien": False}.get(state)
    return render_template(
        "operator/reviews.html", reviews=queries.for_console(hidden), state=state, hide_form=HideReviewForm()
    )


@ops.post("/danh-gia/<review_id>/an")
def review_hide(review_id: str):
    form = HideReviewForm()
    if not form.validate_on_submit():
        flash(_("Ghi lý do ẩn đánh giá."), "error")
        return redirect(url_for(".reviews"), code=303)
    try:
        services.hide_review(current_user.id, _id(review_id), form.reason.data or "")
        flash(_("Đã ẩn đánh giá."), "success")
    except ShopError as err:
        flash(err.message, "error")
    return redirect(url_for(".reviews"), code=303)


@portal.get("/danh-gia", endpoint="reviews")
@producer_required
def producer_reviews():
    """The producer's own products' reviews (staff and owner alike), hidden ones with the reason."""
    rating = parse_int(request.args.get("sao", ""), minimum=1, maximum=5)
    counts = queries.producer_summary(g.producer.id)
    total = sum(counts.values())
    average = sum(r * n for r, n in counts.items()) / total if total else None
    return render_template(
        "portal/reviews.html",
        reviews=queries.for_producer(g.producer.id, rating),
        counts=counts,
        total=total,
        average=average,
        rating=rating,
    )
