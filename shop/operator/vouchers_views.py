"""Console pages for vouchers (/ops/ma-giam-gia): the list with how much each
code has been used, a form to create or edit one, and switching one off or on.
Redemption at checkout lives in shop.promotions.vouchers."""

from dataclasses import asdict

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.catalog.reference import reference
from shop.ledger.queries import categories_for_rates, commission_rows
from shop.operator import bp
from shop.operator.forms import VoucherForm, VoucherSwitchForm, show_error
from shop.promotions import voucher_services
from shop.promotions.voucher_services import VoucherDraft, VoucherInvalid


@bp.get("/ma-giam-gia")
def vouchers():
    show = request.args.get("show") or None
    if show not in voucher_services.LIST_FILTERS:
        show = None
    search = request.args.get("q", "")
    return render_template(
        "operator/vouchers.html",
        vouchers=voucher_services.vouchers(show, search),
        show=show,
        search=search,
        state_of=voucher_services.state_of,
    )


def _form_page(form: VoucherForm, voucher=None, status: int = 200):
    loc = str(get_locale())
    form.producers.choices = [SelectChoice(str(row.producer.id), row.producer.name) for row in commission_rows()]
    form.provinces.choices = [SelectChoice(str(p.id), p.name) for p in reference().provinces]
    form.categories.choices = [
        SelectChoice(str(c.id), c.name(loc), render_kw={"class": "is-child"} if c.level > 1 else {})
        for c in categories_for_rates()
    ]
    return render_template(
        "operator/voucher.html", form=form, voucher=voucher, state_of=voucher_services.state_of
    ), status


def _refused(form: VoucherForm, err: VoucherInvalid, voucher=None):
    for name, message in err.errors.items():
        show_error(form, name, message)
    return _form_page(form, voucher, 400)


@bp.get("/ma-giam-gia/moi")
def voucher_new():
    return _form_page(VoucherForm(data=asdict(VoucherDraft())))


@bp.post("/ma-giam-gia/moi")
def voucher_create():
    form = VoucherForm()
    if not form.validate():
        return _form_page(form, status=400)
    try:
        voucher = voucher_services.create_voucher(form.draft(), current_user.id)
    except VoucherInvalid as err:
        return _refused(form, err)
    flash(_("Đã tạo mã %(code)s.", code=voucher.code), "success")
    return redirect(url_for(".vouchers"), code=303)


@bp.get("/ma-giam-gia/<int:voucher_id>")
def voucher(voucher_id: int):
    found = voucher_services.get_voucher(voucher_id)
    return _form_page(VoucherForm(data=asdict(voucher_services.draft_of(found))), found)


@bp.post("/ma-giam-gia/<int:voucher_id>")
def voucher_update(voucher_id: int):
    found = voucher_services.get_voucher(voucher_id)
    form = VoucherForm()
    if not form.validate():
        return _form_page(form, found, 400)
    try:
        voucher_services.update_voucher(voucher_id, form.draft(), current_user.id)
    except VoucherInvalid as err:
        return _refused(form, err, found)
    flash(_("Đã lưu mã %(code)s.", code=found.code), "success")
    return redirect(url_for(".voucher", voucher_id=voucher_id), code=303)


@bp.post("/ma-giam-gia/<int:voucher_id>/bat-tat")
def voucher_toggle(voucher_id: int):
    active = bool(VoucherSwitchForm().active.data)
    found = voucher_services.set_active(voucher_id, active, current_user.id)
    flash(
        _("Đã bật lại mã %(code)s.", code=found.code) if active else _("Đã tắt mã %(code)s.", code=found.code),
        "success",
    )
    if request.form.get("next") == "list":
        return redirect(url_for(".vouchers"), code=303)
    return redirect(url_for(".voucher", voucher_id=voucher_id), code=303)
