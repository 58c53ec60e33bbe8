"""Console page for marketplace settings (/ops/cai-dat): the COD limit, how long
an unpaid card order holds its stock, the default commission (typed as a
percent, kept in basis points) and the shipping rate tables. Values that do not
parse are shown beside their input with a 400 and nothing is saved."""

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from shop.catalog import services as catalog
from shop.errors import ShopError
from shop.operator import bp
from shop.operator.forms import (
    LegalDetailsForm,
    MarketSettingsForm,
    ShippingRatesForm,
    UnstarredSectionForm,
    show_error,
)
from shop.operator.inputs import parse_count, parse_dong, parse_percent_bp, percent_text
from shop.settings import legal
from shop.settings import services as settings
from shop.shipping import services as shipping
from shop.shipping.models import ZONE_LABELS, ZONES

ZONE_HINTS = {
    "same_province": _l("Người bán và người mua cùng tỉnh."),
    "same_region": _l("Khác tỉnh, cùng vùng (Bắc, Trung, Nam)."),
    "elsewhere": _l("Khác vùng."),
}


def _locale() -> str:
    return str(get_locale() or "vi")


def _setting_values() -> dict[str, str]:
    now = settings.current()
    return {
        "cod_max_amount": str(now["cod_max_amount"]),
        "card_reservation_minutes": str(now["card_reservation_minutes"]),
        "default_commission_bp": percent_text(now["default_commission_bp"], _locale()),
    }


def _page(
    status: int = 200,
    *,
    form: MarketSettingsForm | None = None,
    rates_form: ShippingRatesForm | None = None,
):
    """The settings page; `form` is refused settings and `rates_form` a refused shipping
    table, each shown again as typed."""
    return render_template(
        "operator/settings.html",
        form=form or MarketSettingsForm(formdata=None, data=_setting_values()),
        rates_form=rates_form or ShippingRatesForm.of(shipping.rate_table()),
        zones=ZONES,
        zone_labels=ZONE_LABELS,
        zone_hints=ZONE_HINTS,
        unstarred_form=UnstarredSectionForm(
            formdata=None, data={"unstarred_section": settings.get_int("unstarred_section") == 1}
        ),
    ), status


@bp.get("/cai-dat", endpoint="settings")
def settings_page():
    return _page()


@bp.post("/cai-dat", endpoint="settings_save")
def settings_save():
    form = MarketSettingsForm()
    parsers = {
        "cod_max_amount": lambda text: parse_dong(text, "cod_max_amount"),
        "card_reservation_minutes": lambda text: parse_count(text, "card_reservation_minutes", minimum=5, maximum=1440),
        "default_commission_bp": lambda text: parse_percent_bp(text, "default_commission_bp"),
    }
    values = {}
    for key, parse in parsers.items():
        try:
            values[key] = parse(form[key].data or "")
        except ShopError as err:
            show_error(form, key, err.message)
    if len(values) == len(parsers):
        try:
            changed = settings.update_settings(current_user.id, values)
        except settings.SettingError as err:
            show_error(form, err.field, err.message)
    if form.errors:
        return _page(400, form=form)
    flash(_("Đã lưu cài đặt.") if changed else _("Không có gì thay đổi."), "success")
    return redirect(url_for(".settings"), code=303)


@bp.post("/cai-dat/chua-co-sao", endpoint="settings_unstarred")
def settings_unstarred():
    on = bool(UnstarredSectionForm().unstarred_section.data)
    if not catalog.set_unstarred_section(current_user.id, on):
        flash(_("Không có gì thay đổi."), "success")
    elif on:
        flash(_("Đã mở khu “Sản phẩm chưa có sao”."), "success")
    else:
        flash(_("Đã đóng khu “Sản phẩm chưa có sao”: chỉ sản phẩm OCOP còn hiệu lực được bán."), "success")
    return redirect(url_for(".settings", _anchor="chua-co-sao"), code=303)


@bp.post("/cai-dat/phi-van-chuyen", endpoint="settings_rates")
def settings_rates():
    form = ShippingRatesForm()
    if not form.validate():
        return _page(400, rates_form=form)
    try:
        changed = shipping.replace_rates(current_user.id, form.rates())
    except shipping.RateTableError as err:
        form.refuse(err.zone, err.message)
        return _page(400, rates_form=form)
    flash(_("Đã lưu bảng phí vận chuyển.") if changed else _("Không có gì thay đổi."), "success")
    return redirect(url_for(".settings", _anchor="phi-van-chuyen"), code=303)


# --- the operator's legal details (footer and policy pages) --------------------------


def _legal_page(form: LegalDetailsForm, status: int = 200):
    return render_template("operator/legal.html", form=form), status


@bp.get("/cai-dat/phap-ly", endpoint="settings_legal")
def settings_legal():
    return _legal_page(LegalDetailsForm(obj=legal.operator_details()))


@bp.post("/cai-dat/phap-ly", endpoint="settings_legal_save")
def settings_legal_save():
    form = LegalDetailsForm()
    if not form.validate():
        return _legal_page(form, 400)
    try:
        changed = legal.update_operator_details(current_user.id, form.values())
    except legal.DetailsError as err:
        show_error(form, err.field, err.message)
        return _legal_page(form, 400)
    flash(_("Đã lưu thông tin pháp lý.") if changed else _("Không có gì thay đổi."), "success")
    return redirect(url_for(".settings_legal"), code=303)
