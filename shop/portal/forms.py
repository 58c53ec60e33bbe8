"""Portal forms. They check the shape of what was typed and mark the field at
fault, in Vietnamese; the services apply the rules again and have the last word."""

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
    EmailField,
    Field,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from shop.accounts.forms import PlaceFields, optional_int, valid_email, valid_phone
from shop.bank import directory
from shop.forms import Form as FlaskForm
from shop.inputs import DB_INT_MAX

# --- numbers and dates as people type them ----------------------------------------

_PLAIN = re.compile(r"\d+", re.ASCII)
_GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*", re.ASCII)
_CURRENCY = re.compile(r"(₫|đồng|đ|vnđ|vnd|d)$", re.IGNORECASE)
TAX_CODE = re.compile(r"(\d{10})(?:-?(\d{3}))?", re.ASCII)


def bank_choices() -> list[SelectChoice]:
    """The NAPAS banks for a bank picker (BIN as the value), an empty first choice.
    A bank without a BIN (BIDC) cannot be told apart from "no bank": not offered."""
    return [SelectChoice("", _l("— Chọn ngân hàng —"))] + [
        SelectChoice(b.bin, f"{b.short_name} — {b.name}") for b in directory.banks() if b.bin
    ]


class NegativeNumber(ValueError):
    pass


def parse_whole_number(text: str) -> int:
    """A whole number typed with or without thousands separators: "120.000",
    "120,000", "120 000 ₫" and "120000" are all 120000. Groups after a separator
    must have three digits, so "120.5" is refused rather than guessed at."""
    value = (text or "").strip().replace("\u00a0", " ")
    value = _CURRENCY.sub("", value).strip().replace(" ", "")
    if value.startswith("-") and (_PLAIN.fullmatch(value[1:]) or _GROUPED.fullmatch(value[1:])):
        raise NegativeNumber(text)
    if _PLAIN.fullmatch(value):
        digits = value
    elif _GROUPED.fullmatch(value):
        digits = re.sub(r"[.,]", "", value)
    else:
        raise ValueError(text)
    if len(digits) > 12:  # a trillion đồng is not a price anyone means
        raise ValueError(text)
    return int(digits)


def group_thousands(value: int | None) -> str:
    """120000 -> "120.000", the Vietnamese way of writing it."""
    return "" if value is None else f"{value:,}".replace(",", ".")


def normalise_tax_code(raw: str) -> str | None:
    """A Vietnamese tax code (mã số thuế) as stored: 10 digits, or 10 digits,
    a hyphen and a 3-digit branch number. None when it is not one."""
    match = TAX_CODE.fullmatch(re.sub(r"[\s.]", "", raw or ""))
    if not match:
        return None
    return f"{match[1]}-{match[2]}" if match[2] else match[1]


def parse_day(text: str) -> date:
    """A date from a date picker (yyyy-mm-dd) or typed (dd/mm/yyyy)."""
    value = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


class NumberField(Field):
    """A whole number in a text box (numeric keyboard on phones), errors in Vietnamese.
    Shows back what was typed when it is refused. A text box like StringField, whose
    two methods it replaces, but holding an int (StringField's data is a str to mypy)."""

    widget = TextInput()
    data: int | None

    def __init__(self, label=None, validators=None, *, invalid=None, negative=None, grouped=False, **kwargs):
        render_kw = {"inputmode": "numeric", "autocomplete": "off", **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.invalid_message = invalid or _l("Nhập một số, ví dụ 25.")
        self.negative_message = negative or _l("Số không được âm.")
        self.grouped = grouped

    def process_formdata(self, valuelist):
        self.data = None
        text = valuelist[0] if valuelist else ""
        if not (text or "").strip():
            return
        try:
            self.data = parse_whole_number(text)
        except NegativeNumber:
            raise ValueError(str(self.negative_message)) from None
        except ValueError:
            raise ValueError(str(self.invalid_message)) from None
        if self.data > DB_INT_MAX:  # more than a database integer holds
            self.data = None
            raise ValueError(str(_l("Số quá lớn (tối đa %(n)s).", n=group_thousands(DB_INT_MAX))))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return group_thousands(self.data) if self.grouped else str(self.data)


class DayField(Field):
    """A date picker that also takes dd/mm/yyyy typed by hand (a text box holding a date)."""

    widget = TextInput()
    data: date | None

    def __init__(self, label=None, validators=None, *, invalid=None, **kwargs):
        super().__init__(label, validators, render_kw={"type": "date"}, **kwargs)
        self.invalid_message = invalid or _l("Ngày không hợp lệ (ví dụ 15/03/2024).")

    def process_formdata(self, valuelist):
        self.data = None
        text = valuelist[0] if valuelist else ""
        if not (text or "").strip():
            return
        try:
            self.data = parse_day(text)
        except ValueError:
            raise ValueError(str(self.invalid_message)) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""


def required(message) -> DataRequired:
    return DataRequired(message=message)


class NumberRequired:
    """DataRequired treats 0 as missing; a stock of 0 is a real answer."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if field.data is None and not field.errors:
            raise ValidationError(self.message)


def valid_tax_code(form, field) -> None:
    if (field.data or "").strip() and normalise_tax_code(field.data) is None:
        raise ValidationError(_l("Mã số thuế gồm 10 chữ số, hoặc 13 chữ số cho chi nhánh (ví dụ 0101234567-001)."))


# --- labels -----------------------------------------------------------------------

OWNER_TYPE_CHOICES = (
    ("cooperative", _l("Hợp tác xã (HTX)")),
    ("enterprise", _l("Doanh nghiệp")),
    ("household", _l("Hộ kinh doanh")),
    ("cooperative_group", _l("Tổ hợp tác")),
)
STAR_CHOICES = ((3, _l("3 sao")), (4, _l("4 sao")), (5, _l("5 sao")))
ISSUING_LEVEL_CHOICES = (("province", _l("Cấp tỉnh (UBND tỉnh)")), ("central", _l("Cấp trung ương (5 sao)")))
PRODUCT_STATUS_CHOICES = (
    ("draft", _l("Bản nháp — chưa bán")),
    ("published", _l("Đang bán")),
    ("archived", _l("Ngừng bán")),
)
CERTIFICATE_STATE_LABELS = {
    "pending": _l("Chờ duyệt"),
    "verified": _l("Đã xác minh"),
    "rejected": _l("Bị từ chối"),
}
PRODUCT_STATUS_LABELS = {"draft": _l("Bản nháp"), "published": _l("Đang bán"), "archived": _l("Ngừng bán")}

NAME_REQUIRED = _l("Vui lòng nhập tên.")
DOCUMENT_HINT = _l("Ảnh chụp hoặc bản PDF của quyết định công nhận OCOP, tối đa 10 MB.")


def choices(pairs, placeholder=None) -> list[SelectChoice]:
    out = [SelectChoice("", placeholder)] if placeholder else []
    return out + [SelectChoice(value, label) for value, label in pairs]


# --- onboarding --------------------------------------------------------------------


class CertificateFields:
    """The fields of one OCOP decision, shared by the application and the certificate page."""

    stars = SelectField(
        _l("Hạng sao OCOP"),
        coerce=optional_int,
        validate_choice=False,
        choices=choices(STAR_CHOICES, _l("— Chọn hạng sao —")),
        validators=[required(_l("Chọn hạng sao (3, 4 hoặc 5)."))],
    )
    decision_number = StringField(
        _l("Số quyết định"),
        validators=[required(_l("Nhập số quyết định, ví dụ 1234/QĐ-UBND.")), Length(max=80)],
    )
    decision_date = DayField(_l("Ngày quyết định"), validators=[NumberRequired(_l("Nhập ngày ra quyết định."))])
    issuing_level = SelectField(
        _l("Cấp công nhận"),
        choices=choices(ISSUING_LEVEL_CHOICES),
        validate_choice=False,
        validators=[required(_l("Chọn cấp công nhận."))],
    )
    document = FileField(_l("Tệp quyết định (PDF hoặc ảnh)"))


class ApplyForm(PlaceFields, CertificateFields, FlaskForm):
    name = StringField(
        _l("Tên cơ sở sản xuất"),
        validators=[required(_l("Nhập tên HTX, doanh nghiệp hoặc hộ kinh doanh.")), Length(max=200)],
    )
    owner_type = SelectField(
        _l("Loại hình"),
        choices=choices(OWNER_TYPE_CHOICES, _l("— Chọn loại hình —")),
        validate_choice=False,
        validators=[required(_l("Chọn loại hình cơ sở."))],
    )
    tax_code = StringField(
        _l("Mã số thuế"),
        validators=[required(_l("Nhập mã số thuế.")), Length(max=20), valid_tax_code],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    address = StringField(
        _l("Số nhà, đường, thôn/xóm"),
        validators=[required(_l("Nhập địa chỉ cơ sở.")), Length(max=300)],
    )
    phone = TelField(_l("Số điện thoại"), validators=[required(_l("Nhập số điện thoại.")), Length(max=20), valid_phone])
    email = EmailField(_l("Email liên hệ"), validators=[required(_l("Nhập email.")), Length(max=200), valid_email])
    bank_bin = SelectField(
        _l("Ngân hàng"),
        validators=[required(_l("Chọn ngân hàng.")), Length(max=8)],
        choices=bank_choices,
        validate_choice=False,
    )
    bank_account_name = StringField(
        _l("Tên chủ tài khoản"), validators=[required(_l("Nhập tên chủ tài khoản.")), Length(max=120)]
    )
    bank_account_number = StringField(
        _l("Số tài khoản"),
        validators=[required(_l("Nhập số tài khoản.")), Length(max=40)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    story = TextAreaField(_l("Giới thiệu về cơ sở (không bắt buộc)"), validators=[Length(max=5000)])
    product_name = StringField(
        _l("Tên sản phẩm được công nhận"),
        validators=[required(_l("Nhập tên sản phẩm được công nhận OCOP.")), Length(max=200)],
    )
    category_id = SelectField(
        _l("Nhóm sản phẩm"),
        coerce=optional_int,
        validate_choice=False,
        validators=[required(_l("Chọn nhóm sản phẩm."))],
    )


# --- catalog ---------------------------------------------------------------------


class ProductForm(FlaskForm):
    name = StringField(_l("Tên sản phẩm"), validators=[required(NAME_REQUIRED), Length(max=200)])
    name_en = StringField(
        _l("Tên tiếng Anh (không bắt buộc)"),
        description=_l("Hiện cho khách xem trang bằng tiếng Anh và giúp họ tìm thấy sản phẩm."),
        validators=[Optional(), Length(max=200)],
    )
    category_id = SelectField(
        _l("Nhóm sản phẩm"),
        coerce=optional_int,
        validate_choice=False,
        validators=[required(_l("Chọn nhóm sản phẩm."))],
    )
    province_id = SelectField(
        _l("Xuất xứ (tỉnh/thành phố)"),
        coerce=optional_int,
        validate_choice=False,
        validators=[required(_l("Chọn tỉnh/thành phố xuất xứ."))],
    )
    description = TextAreaField(_l("Mô tả sản phẩm"), validators=[Length(max=20000)])
    status = SelectField(
        _l("Trạng thái"), choices=choices(PRODUCT_STATUS_CHOICES), validate_choice=False, default="draft"
    )


class VariantForm(FlaskForm):
    label = StringField(
        _l("Tên phân loại"),
        validators=[required(_l("Nhập tên phân loại, ví dụ “Hũ 500 g”.")), Length(max=120)],
    )
    sku = StringField(
        _l("Mã SKU"),
        validators=[required(_l("Nhập mã SKU.")), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    price = NumberField(
        _l("Giá bán (đồng)"),
        validators=[NumberRequired(_l("Nhập giá bán."))],
        invalid=_l("Giá phải là số đồng, ví dụ 120.000."),
        negative=_l("Giá không được âm."),
        grouped=True,
    )
    weight_grams = NumberField(
        _l("Khối lượng khi gửi (gam)"),
        validators=[NumberRequired(_l("Nhập khối lượng (gam) để tính phí giao hàng."))],
        invalid=_l("Khối lượng là số gam, ví dụ 500."),
        negative=_l("Khối lượng phải lớn hơn 0."),
    )
    stock = NumberField(
        _l("Tồn kho"),
        validators=[NumberRequired(_l("Nhập số lượng tồn kho (0 nếu đã hết)."))],
        invalid=_l("Tồn kho là số nguyên, ví dụ 25."),
        negative=_l("Tồn kho không được âm."),
    )
    barcode = StringField(
        _l("Mã vạch (không bắt buộc)"), validators=[Length(max=32)], render_kw={"inputmode": "numeric"}
    )


class StockForm(FlaskForm):
    stock = NumberField(
        _l("Tồn kho"),
        validators=[NumberRequired(_l("Nhập số lượng tồn kho (0 nếu đã hết)."))],
        invalid=_l("Tồn kho là số nguyên, ví dụ 25."),
        negative=_l("Tồn kho không được âm."),
    )


class ImagesForm(FlaskForm):
    images = MultipleFileField(
        _l("Thêm ảnh sản phẩm"),
        render_kw={"accept": "image/jpeg,image/png,image/webp", "multiple": True},
    )


class MoveImageForm(FlaskForm):
    direction = SelectField(choices=[SelectChoice("up", "up"), SelectChoice("down", "down")], validate_choice=True)


# --- certificates ---------------------------------------------------------------------


class CertificateForm(CertificateFields, FlaskForm):
    product_id = SelectField(
        _l("Sản phẩm"), coerce=optional_int, validate_choice=False, validators=[required(_l("Chọn sản phẩm."))]
    )
    issuing_province_id = SelectField(_l("Tỉnh cấp quyết định"), coerce=optional_int, validate_choice=False)


# --- members and settings ---------------------------------------------------------


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email người được mời"),
        validators=[required(_l("Nhập email người được mời.")), Length(max=254), valid_email],
    )


class BankForm(FlaskForm):
    bank_bin = SelectField(
        _l("Ngân hàng"),
        validators=[required(_l("Chọn ngân hàng.")), Length(max=8)],
        choices=bank_choices,
        validate_choice=False,
    )
    bank_account_name = StringField(
        _l("Tên chủ tài khoản"), validators=[required(_l("Nhập tên chủ tài khoản.")), Length(max=120)]
    )
    bank_account_number = StringField(
        _l("Số tài khoản"),
        validators=[required(_l("Nhập số tài khoản.")), Length(max=40)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ShopSettingsForm(FlaskForm):
    free_shipping_threshold = NumberField(
        _l("Miễn phí giao hàng cho đơn từ (đồng)"),
        invalid=_l("Nhập số đồng, ví dụ 500.000, hoặc để trống."),
        negative=_l("Số tiền không được âm."),
        grouped=True,
    )


# --- operator -------------------------------------------------------------------------


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Lý do"), validators=[Length(max=2000)])
