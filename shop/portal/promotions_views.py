"""Portal pages for promotion weeks: the open invitations, enrolling a SKU with a
promotional price and a quota, and withdrawing an offer not yet decided.

Every SKU and enrolment is looked up through the producer the user acts for
(`producer_ids()`): another producer's is a 404."""

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.accounts.forms import ActionForm
from shop.formatting import vnd
from shop.portal import bp
from shop.portal.access import producer_ids, producer_required
from shop.promotions import enrolment_services, rules
from shop.promotions.forms import ENROLMENT_STATE_LABELS, WEEK_STATUS_LABELS, EnrolForm
from shop.promotions.week_rules import PromotionError, week_status


def _pid() -> int:
    return producer_ids()[0]


def suggested_price(variant, promotion) -> int:
    """The week's rule applied to this SKU's price: a starting point for the producer."""
    return variant.price - rules.unit_discount(variant.price, promotion.kind, promotion.value, promotion.max_discount)


def _page(failed: tuple[int, EnrolForm] | None = None, status: int = 200):
    producer_id = _pid()
    invitations = enrolment_services.open_invitations(producer_id)
    enrolments = enrolment_services.producer_enrolments(producer_id)
    by_week: dict[int, list] = {}
    for e in enrolments:
        by_week.setdefault(e.promotion_id, []).append(e)
    open_ids = {w.id for w in invitations}
    weeks = []
    for week in invitations:
        if failed and failed[0] == week.id:
            form = failed[1]
        else:
            form = EnrolForm(formdata=None, prefix=f"w{week.id}")
        variants = enrolment_services.enrolable_variants(producer_id, week)
        form.variant_id.choices = [SelectChoice("", _("— Chọn sản phẩm —"))] + [
            SelectChoice(
                v.id,
                _(
                    "%(product)s · %(label)s · giá %(price)s · gợi ý %(suggested)s · tồn %(stock)s",
                    product=v.product.name,
                    label=v.label,
                    price=vnd(v.price, str(get_locale())),
                    suggested=vnd(suggested_price(v, week), str(get_locale())),
                    stock=v.stock,
                ),
            )
            for v in variants
        ]
        weeks.append({"week": week, "form": form, "variants": variants, "enrolments": by_week.get(week.id, [])})
    past = [e for e in enrolments if e.promotion_id not in open_ids]
    return render_template(
        "portal/promotions.html",
        weeks=weeks,
        past=past,
        action_form=ActionForm(formdata=None),
        week_status=week_status,
        week_status_label=lambda s: str(WEEK_STATUS_LABELS.get(s, s)),
        enrolment_state_label=lambda s: str(ENROLMENT_STATE_LABELS.get(s, s)),
        producer=g.producer,
    ), status


@bp.get("/khuyen-mai")
@producer_required
def promotions():
    return _page()


@bp.post("/khuyen-mai/<int:promotion_id>/dang-ky")
@producer_required
def promotion_enrol(promotion_id: int):
    form = EnrolForm(prefix=f"w{promotion_id}")
    if form.validate_on_submit():
        try:
            enrolment_services.enrol(_pid(), promotion_id, form.variant_id.data, form.promo_price.data, form.quota.data)
        except PromotionError as err:
            field = getattr(form, err.field, None) if err.field else None
            if field is not None:
                field.errors = [*field.errors, err.message]
            else:
                form.form_errors.append(err.message)
        else:
            flash(_("Đã gửi đăng ký. Sàn sẽ duyệt và báo kết quả tại đây."), "success")
            return redirect(url_for(".promotions") + f"#tuan-{promotion_id}")
    elif not form.is_submitted():
        abort(400)
    return _page((promotion_id, form), 400)


@bp.post("/khuyen-mai/dang-ky/<int:enrolment_id>/rut")
@producer_required
def enrolment_withdraw(enrolment_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        enrolment_services.withdraw_enrolment(_pid(), enrolment_id)
    except PromotionError as err:
        flash(err.message, "error")
    else:
        flash(_("Đã rút đăng ký."), "info")
    return redirect(url_for(".promotions"))
