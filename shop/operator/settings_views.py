"""Console page for marketplace settings (/ops/cai-dat): the COD limit, how long
an unpaid card order holds its stock, the default commission (typed as a
percent, kept in basis points) and the shipping rate tables. Values that do not
parse are shown beside their input with a 400 and nothing is saved."""

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from shop.catalog import services as catalog
from shop.errors import ShopError
from shop.operator import bp
from shop.operator.forms import LegalDetailsForm, MarketSettingsForm, show_error
from shop.operator.inputs import parse_count, parse_dong, parse_percent_bp, percent_text
from shop.settings import legal
from shop.settings import services as settings
from shop.shipping import services as shipping
from shop.shipping.models import ZONE_LABELS, ZONES
from shop.shipping.rules import Rate

ZONE_HINTS = {
    "same_province": _l("Người bán và người mua cùng tỉnh."),
    "same_region": _l("Khác tỉnh, cùng vùng (Bắc, Trung, Nam)."),
    "elsewhere": _l("Khác vùng."),
}


@dataclass
class BandRow:
    """One row of a zone's table as the form shows it (text as typed)."""

    prefix: str  # input names start with it
    max: str
    fee: str
    extra: str
    remove: bool = False
    new: bool = False


def _locale() -> str:
    return str(get_locale() or "vi")


def _setting_values() -> dict[str, str]:
    now = settings.current()
    return {
        "cod_max_amount": str(now["cod_max_amount"]),
        "card_reservation_minutes": str(now["card_reservation_minutes"]),
        "default_commission_bp": percent_text(now["default_commission_bp"], _locale()),
    }


def _rows_from_table() -> dict[str, list[BandRow]]:
    rows = {}
    for zone, bands in shipping.rate_table().items():
        rows[zone] = [
            BandRow(f"{zone}-{i}", str(b.max_weight_grams), str(b.fee), str(b.extra_per_kg))
            for i, b in enumerate(bands)
        ]
        rows[zone].append(BandRow(f"{zone}-new", "", "", "", new=True))
    return rows


def _rows_from_form() -> dict[str, list[BandRow]]:
    rows = {}
    for zone in ZONES:
        raw_count = request.form.get(f"{zone}-count", "0")
        count = int(raw_count) if raw_count.isdigit() and int(raw_count) < 200 else 0
        prefixes = [f"{zone}-{i}" for i in range(count)] + [f"{zone}-new"]
        rows[zone] = [
            BandRow(
                p,
                request.form.get(f"{p}-max", "").strip()[:20],
                request.form.get(f"{p}-fee", "").strip()[:20],
                request.form.get(f"{p}-extra", "").strip()[:20],
                remove=bool(request.form.get(f"{p}-remove")),
                new=p.endswith("-new"),
            )
            for p in prefixes
        ]
    return rows


def _page(
    status: int = 200,
    *,
    form: MarketSettingsForm | None = None,
    errors: dict | None = None,
    rows: dict | None = None,
    zone_errors: dict | None = None,
):
    """The settings page; `form` is refused settings shown again as typed, `errors` and
    `rows` a refused shipping table (its inputs by name)."""
    return render_template(
        "operator/settings.html",
        form=form or MarketSettingsForm(formdata=None, data=_setting_values()),
        errors=errors or {},
        rows=rows or _rows_from_table(),
        zone_errors=zone_errors or {},
        zones=ZONES,
        zone_labels=ZONE_LABELS,
        zone_hints=ZONE_HINTS,
        unstarred_on=settings.get_int("unstarred_section") == 1,
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
    on = request.form.get("unstarred_section") == "1"
    if not catalog.set_unstarred_section(current_user.id, on):
        flash(_("Không có gì thay đổi."), "success")
    elif on:
        flash(_("Đã mở khu “Sản phẩm chưa có sao”."), "success")
    else:
        flash(_("Đã đóng khu “Sản phẩm chưa có sao”: chỉ sản phẩm OCOP còn hiệu lực được bán."), "success")
    return redirect(url_for(".settings", _anchor="chua-co-sao"), code=303)


@bp.post("/cai-dat/phi-van-chuyen", endpoint="settings_rates")
def settings_rates():
    rows = _rows_from_form()
    errors: dict[str, str] = {}
    rates: list[Rate] = []
    for zone, zone_rows in rows.items():
        for row in zone_rows:
            if row.remove or (row.new and not (row.max or row.fee or row.extra)):
                continue
            try:
                max_grams = parse_count(row.max, f"{row.prefix}-max", minimum=1, maximum=shipping.MAX_BAND_GRAMS)
            except ShopError as err:
                errors[f"{row.prefix}-max"] = err.message
            try:
                fee = parse_dong(row.fee, f"{row.prefix}-fee")
            except ShopError as err:
                errors[f"{row.prefix}-fee"] = err.message
            try:
                extra = parse_dong(row.extra or "0", f"{row.prefix}-extra")
            except ShopError as err:
                errors[f"{row.prefix}-extra"] = err.message
            if not errors:
                rates.append(Rate(zone, max_grams, fee, extra))
    zone_errors = {}
    if not errors:
        try:
            changed = shipping.replace_rates(current_user.id, rates)
        except shipping.RateTableError as err:
            zone_errors[err.zone or ""] = err.message
    if errors or zone_errors:
        return _page(400, rows=rows, errors=errors, zone_errors=zone_errors)
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
