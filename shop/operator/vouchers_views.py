"""Console pages for vouchers (/ops/ma-giam-gia): the list with how much each
code has been used, a form to create or edit one, and switching one off or on.
Redemption at checkout lives in shop.promotions.vouchers."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shop.catalog.reference import reference
from shop.ledger.queries import categories_for_rates, commission_rows
from shop.operator import bp
from shop.promotions import voucher_services
from shop.promotions.voucher_services import VoucherDraft, VoucherInvalid


def _draft() -> VoucherDraft:
    form = request.form
    return VoucherDraft(
        code=form.get("code", ""),
        description=form.get("description", ""),
        kind=form.get("kind", ""),
        value=form.get("value", ""),
        max_discount=form.get("max_discount", ""),
        min_order=form.get("min_order", ""),
        usage_limit=form.get("usage_limit", ""),
        per_customer_limit=form.get("per_customer_limit", ""),
        starts_at=form.get("starts_at", ""),
        ends_at=form.get("ends_at", ""),
        producers=tuple(form.getlist("producers")),
        provinces=tuple(form.getlist("provinces")),
        categories=tuple(form.getlist("categories")),
        min_stars=form.get("min_stars", ""),
        active=form.get("active") == "1",
    )


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


def _form_page(draft: VoucherDraft, voucher=None, errors: dict | None = None, status: int = 200):
    ref = reference()
    return render_template(
        "operator/voucher.html",
        draft=draft,
        voucher=voucher,
        errors=errors or {},
        producers=[row.producer for row in commission_rows()],
        provinces=ref.provinces,
        categories=categories_for_rates(),
        state_of=voucher_services.state_of,
    ), status


@bp.get("/ma-giam-gia/moi")
def voucher_new():
    return _form_page(VoucherDraft())


@bp.post("/ma-giam-gia/moi")
def voucher_create():
    draft = _draft()
    try:
        voucher = voucher_services.create_voucher(draft, current_user.id)
    except VoucherInvalid as err:
        return _form_page(draft, errors=err.errors, status=400)
    flash(_("Đã tạo mã %(code)s.", code=voucher.code), "success")
    return redirect(url_for(".vouchers"), code=303)


@bp.get("/ma-giam-gia/<int:voucher_id>")
def voucher(voucher_id: int):
    found = voucher_services.get_voucher(voucher_id)
    return _form_page(voucher_services.draft_of(found), found)


@bp.post("/ma-giam-gia/<int:voucher_id>")
def voucher_update(voucher_id: int):
    found = voucher_services.get_voucher(voucher_id)
    draft = _draft()
    try:
        voucher_services.update_voucher(voucher_id, draft, current_user.id)
    except VoucherInvalid as err:
        return _form_page(draft, found, err.errors, 400)
    flash(_("Đã lưu mã %(code)s.", code=found.code), "success")
    return redirect(url_for(".voucher", voucher_id=voucher_id), code=303)


@bp.post("/ma-giam-gia/<int:voucher_id>/bat-tat")
def voucher_toggle(voucher_id: int):
    active = request.form.get("active") == "1"
    found = voucher_services.set_active(voucher_id, active, current_user.id)
    flash(
        _("Đã bật lại mã %(code)s.", code=found.code) if active else _("Đã tắt mã %(code)s.", code=found.code),
        "success",
    )
    if request.form.get("next") == "list":
        return redirect(url_for(".vouchers"), code=303)
    return redirect(url_for(".voucher", voucher_id=voucher_id), code=303)
