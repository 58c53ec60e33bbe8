"""Console pages for promotion weeks: the list (upcoming, running, ended), the
week form, publishing and cancelling, and the review of producers' enrolments.

Views read the form, call one service with plain values and render or
redirect; a refusal is shown next to the field it is about and nothing is saved."""

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.accounts.forms import ActionForm
from shop.operator import bp
from shop.operator.forms import show_error
from shop.portal.forms import ReasonForm
from shop.promotions import week_queries, week_rules, week_services
from shop.promotions.forms import (
    ENROLMENT_STATE_LABELS,
    WEEK_STATUS_LABELS,
    CancelWeekForm,
    WeekForm,
)
from shop.promotions.week_rules import PromotionError
from shop.promotions.week_services import Banner, WeekDetails


def _labels() -> dict:
    return {
        "week_status": week_rules.week_status,
        "week_status_label": lambda s: str(WEEK_STATUS_LABELS.get(s, s)),
        "enrolment_state_label": lambda s: str(ENROLMENT_STATE_LABELS.get(s, s)),
    }


def _fill_choices(form: WeekForm) -> None:
    form.producers.choices = [SelectChoice(str(i), name) for i, name in week_queries.producer_choices()]
    form.provinces.choices = [SelectChoice(str(i), name) for i, name in week_queries.province_choices()]
    form.categories.choices = [
        SelectChoice(str(i), name if level == 1 else f"— {name}") for i, name, level in week_queries.category_choices()
    ]


def _details(form: WeekForm) -> WeekDetails:
    return WeekDetails(
        name=form.name.data or "",
        slug=form.slug.data or "",
        description=form.description.data or "",
        starts_at=form.starts_at.data,
        ends_at=form.ends_at.data,
        kind=form.kind.data or "",
        value=form.value.data,
        max_discount=form.max_discount.data,
        invitation_only=bool(form.invitation_only.data),
        operator_share=form.operator_share.data,
        product_refs=form.product_refs(),
        producers=tuple(form.producers.data or ()),
        provinces=tuple(form.provinces.data or ()),
        categories=tuple(form.categories.data or ()),
        min_stars=form.min_stars.data,
    )


def _banner(form: WeekForm) -> Banner | None:
    storage = form.banner.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return Banner(filename=storage.filename, data=storage.read())


def _fill_from(form: WeekForm, promotion) -> None:
    scope = promotion.scope or {}
    form.name.data = promotion.name
    form.slug.data = promotion.slug
    form.description.data = promotion.description
    form.starts_at.data = promotion.starts_at
    form.ends_at.data = promotion.ends_at
    form.kind.data = promotion.kind
    form.value.data = promotion.value
    form.max_discount.data = promotion.max_discount
    form.operator_share.data = promotion.operator_share
    form.invitation_only.data = promotion.invitation_only
    form.products.data = "\n".join(week_queries.scope_product_refs(promotion))
    form.producers.data = [str(i) for i in scope.get("producers") or ()]
    form.provinces.data = [str(i) for i in scope.get("provinces") or ()]
    form.categories.data = [str(i) for i in scope.get("categories") or ()]
    form.min_stars.data = scope.get("min_stars")


@bp.get("/khuyen-mai/tim-san-pham")
def promotion_product_search():
    """The week form's product picker: JSON of the products matching `q`."""
    found = week_queries.product_matches(request.args.get("q", ""))
    return jsonify(items=[{"value": slug, "label": label} for slug, label in found])


def _form_page(promotion, form, status=200, **extra):
    return render_template(
        "operator/promotion_form.html",
        form=form,
        promotion=promotion,
        product_labels=week_queries.product_labels(form.product_refs()),
        **extra,
        **_labels(),
    ), status


@bp.get("/khuyen-mai")
def promotions():
    return render_template(
        "operator/promotions.html", weeks=week_queries.list_weeks(), action_form=ActionForm(formdata=None), **_labels()
    )


@bp.route("/khuyen-mai/moi", methods=["GET", "POST"])
def promotion_new():
    form = WeekForm()
    _fill_choices(form)
    status = 200
    if form.is_submitted() and not form.kind.data:
        form.kind.data = "percent"
    if not form.is_submitted():
        form.kind.data = "percent"
        form.operator_share.data = 100
    if form.validate_on_submit():
        try:
            promotion_id = week_services.create_week(current_user.id, _details(form), _banner(form))
        except PromotionError as err:
            show_error(form, err.field, err.message)
            status = 400
        else:
            flash(_("Đã tạo tuần lễ khuyến mãi (bản nháp). Kiểm tra lại rồi bấm “Công bố”."), "success")
            return redirect(url_for(".promotion_edit", promotion_id=promotion_id))
    elif form.is_submitted():
        status = 400
    return _form_page(None, form, status)


def _edit_page(promotion, form, status=200, cancel_form=None):
    return _form_page(
        promotion,
        form,
        status,
        cancel_form=cancel_form or CancelWeekForm(formdata=None),
        action_form=ActionForm(formdata=None),
        scope=week_queries.scope_labels(promotion),
    )


@bp.route("/khuyen-mai/<int:promotion_id>", methods=["GET", "POST"])
def promotion_edit(promotion_id: int):
    promotion = week_rules.get_week(promotion_id)
    form = WeekForm()
    _fill_choices(form)
    if not form.is_submitted():
        _fill_from(form, promotion)
        return _edit_page(promotion, form)
    if form.validate_on_submit():
        try:
            week_services.update_week(current_user.id, promotion.id, _details(form), _banner(form))
        except PromotionError as err:
            show_error(form, err.field, err.message)
        else:
            flash(_("Đã lưu tuần lễ khuyến mãi."), "success")
            return redirect(url_for(".promotion_edit", promotion_id=promotion.id))
    return _edit_page(week_rules.get_week(promotion_id), form, 400)


@bp.post("/khuyen-mai/<int:promotion_id>/cong-bo")
def promotion_publish(promotion_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        week_services.publish_week(current_user.id, promotion_id)
    except PromotionError as err:
        flash(err.message, "error")
    else:
        flash(_("Đã công bố: tuần lễ sẽ hiện với khách từ giây đầu tiên đến giây cuối cùng."), "success")
    return redirect(url_for(".promotion_edit", promotion_id=promotion_id))


@bp.post("/khuyen-mai/<int:promotion_id>/huy")
def promotion_cancel(promotion_id: int):
    promotion = week_rules.get_week(promotion_id)
    form = CancelWeekForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        week_services.cancel_week(current_user.id, promotion.id, form.reason.data or "")
    except PromotionError as err:
        week_form = WeekForm(formdata=None)
        _fill_choices(week_form)
        _fill_from(week_form, promotion)
        if err.field == "reason":
            form.reason.errors = [err.message]
        else:
            flash(err.message, "error")
            return redirect(url_for(".promotion_edit", promotion_id=promotion.id))
        return _edit_page(promotion, week_form, 400, cancel_form=form)
    flash(_("Đã huỷ tuần lễ: giá khuyến mãi đã thôi áp dụng."), "success")
    return redirect(url_for(".promotion_edit", promotion_id=promotion.id))


def _enrolments_page(promotion, errors=None, status=200):
    return render_template(
        "operator/promotion_enrolments.html",
        promotion=promotion,
        enrolments=week_queries.week_enrolments(promotion.id),
        form=ReasonForm(formdata=None),
        errors=errors or {},
        **_labels(),
    ), status


@bp.get("/khuyen-mai/<int:promotion_id>/dang-ky")
def promotion_enrolments(promotion_id: int):
    return _enrolments_page(week_rules.get_week(promotion_id))


def _decide(enrolment_id: int, approve: bool):
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        enrolment = week_services.decide_enrolment(current_user.id, enrolment_id, approve, form.reason.data or "")
    except PromotionError as err:
        promotion_id = week_queries.enrolment_promotion_id(enrolment_id)
        # Shown at the top too: a decided enrolment no longer has a form to show it beside.
        flash(err.message, "error")
        return _enrolments_page(week_rules.get_week(promotion_id), {enrolment_id: err.message}, 400)
    flash(_("Đã duyệt đăng ký.") if approve else _("Đã từ chối đăng ký."), "success")
    return redirect(url_for(".promotion_enrolments", promotion_id=enrolment.promotion_id))


@bp.post("/khuyen-mai/dang-ky/<int:enrolment_id>/duyet")
def enrolment_approve(enrolment_id: int):
    return _decide(enrolment_id, True)


@bp.post("/khuyen-mai/dang-ky/<int:enrolment_id>/tu-choi")
def enrolment_reject(enrolment_id: int):
    return _decide(enrolment_id, False)
