"""Forms for promotion weeks (operator) and enrolments (producer). They check
the shape of what was typed, in Vietnamese; shop.promotions.week_services and
shop.promotions.enrolment_services apply the rules and have the last word."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
    BooleanField,
    Field,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import TextInput

from shop.accounts.forms import optional_int
from shop.formatting import parse_vn_datetime, vn_input_value
from shop.forms import Form as FlaskForm
from shop.portal.forms import NumberField

KIND_CHOICES = [
    SelectChoice("percent", _l("Giảm theo phần trăm (%)")),
    SelectChoice("fixed", _l("Giảm một số tiền (₫) mỗi sản phẩm")),
]
STARS_CHOICES = [
    SelectChoice("", _l("Không giới hạn")),
    SelectChoice(3, _l("Từ 3 sao")),
    SelectChoice(4, _l("Từ 4 sao")),
    SelectChoice(5, _l("5 sao")),
]
WEEK_STATUS_LABELS = {
    "draft": _l("Nháp"),
    "upcoming": _l("Sắp diễn ra"),
    "running": _l("Đang diễn ra"),
    "ended": _l("Đã kết thúc"),
    "cancelled": _l("Đã huỷ"),
}
ENROLMENT_STATE_LABELS = {
    "pending": _l("Chờ duyệt"),
    "approved": _l("Đã duyệt"),
    "rejected": _l("Bị từ chối"),
    "withdrawn": _l("Đã rút"),
}


class LocalDateTimeField(Field):
    """A `datetime-local` picker read as Vietnam time (Asia/Ho_Chi_Minh); also takes
    "dd/mm/yyyy HH:MM" typed by hand. `data` is an aware UTC datetime. A text input
    like StringField's, whose `data` would be typed as text."""

    widget = TextInput()
    data: datetime | None

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, render_kw={"type": "datetime-local"}, **kwargs)

    def process_formdata(self, valuelist):
        self.data = None
        text = valuelist[0] if valuelist else ""
        if not (text or "").strip():
            return
        try:
            self.data = parse_vn_datetime(text)
        except ValueError:
            raise ValueError(str(_l("Ngày giờ không hợp lệ (ví dụ 20/05/2025 08:00)."))) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, datetime):
            return vn_input_value(self.data)
        return ""


class WeekForm(FlaskForm):
    name = StringField(_l("Tên tuần lễ"), validators=[Length(max=200)])
    slug = StringField(_l("Đường dẫn (để trống để tạo từ tên)"), validators=[Length(max=100)])
    description = TextAreaField(_l("Mô tả"), validators=[Length(max=5000)])
    banner = FileField(_l("Ảnh biểu ngữ (JPEG, PNG hoặc WebP)"))
    starts_at = LocalDateTimeField(_l("Bắt đầu (giờ Việt Nam)"))
    ends_at = LocalDateTimeField(_l("Kết thúc (giờ Việt Nam)"))
    kind = SelectField(_l("Cách giảm"), choices=KIND_CHOICES, validate_choice=False)
    value = NumberField(
        _l("Mức giảm"),
        invalid=_l("Nhập một số nguyên, ví dụ 20 (%) hoặc 30.000 (₫)."),
        negative=_l("Mức giảm không được âm."),
        grouped=True,
    )
    max_discount = NumberField(
        _l("Giảm tối đa mỗi sản phẩm (₫, không bắt buộc)"),
        invalid=_l("Nhập số tiền nguyên, ví dụ 50.000."),
        negative=_l("Số tiền không được âm."),
        grouped=True,
    )
    operator_share = NumberField(
        _l("Phần sàn chịu (%)"),
        invalid=_l("Nhập một số nguyên từ 0 đến 100."),
        negative=_l("Số không được âm."),
    )
    invitation_only = BooleanField(_l("Chỉ dành cho nhà sản xuất được mời đăng ký sản phẩm"))
    products = TextAreaField(_l("Sản phẩm được chọn"), validators=[Length(max=20000)])
    producers = SelectMultipleField(_l("Nhà sản xuất"), coerce=str, validate_choice=False)
    provinces = SelectMultipleField(_l("Tỉnh, thành"), coerce=str, validate_choice=False)
    categories = SelectMultipleField(_l("Nhóm sản phẩm"), coerce=str, validate_choice=False)
    min_stars = SelectField(
        _l("Số sao OCOP tối thiểu"), choices=STARS_CHOICES, coerce=optional_int, validate_choice=False
    )

    def product_refs(self) -> tuple[str, ...]:
        text = (self.products.data or "").replace(",", "\n")
        return tuple(line.strip() for line in text.splitlines() if line.strip())


class CancelWeekForm(FlaskForm):
    reason = TextAreaField(_l("Lý do huỷ"), validators=[Length(max=2000)])


class EnrolForm(FlaskForm):
    variant_id = SelectField(_l("Sản phẩm (SKU)"), coerce=optional_int, validate_choice=False)
    promo_price = NumberField(
        _l("Giá khuyến mãi (₫)"),
        invalid=_l("Nhập số tiền nguyên, ví dụ 85.000."),
        negative=_l("Giá không được âm."),
        grouped=True,
    )
    quota = NumberField(
        _l("Số suất giá khuyến mãi"),
        invalid=_l("Nhập một số nguyên, ví dụ 20."),
        negative=_l("Số suất không được âm."),
    )
