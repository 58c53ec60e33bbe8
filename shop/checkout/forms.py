from flask_babel import lazy_gettext as _l
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from shop.accounts.phone import is_valid_phone
from shop.forms import Form as FlaskForm


def _vn_phone(form, field):
    if not is_valid_phone(field.data or ""):
        raise ValidationError(_l("Số điện thoại chưa đúng (ví dụ 0912 345 678)."))


class DeliveryForm(FlaskForm):
    """Step 1: who receives the parcels, and where."""

    saved_address = RadioField(_l("Địa chỉ đã lưu"), coerce=int, validators=[Optional()], validate_choice=False)
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Nhập email để nhận xác nhận đơn hàng.")),
            Email(_l("Email chưa đúng.")),
            Length(max=254),
        ],
    )
    recipient = StringField(_l("Người nhận"), validators=[Optional(), Length(max=120)])
    phone = StringField(_l("Số điện thoại"), validators=[Optional(), Length(max=20)])
    province_id = SelectField(_l("Tỉnh/thành phố"), coerce=int, validate_choice=False)
    ward_id = SelectField(_l("Phường/xã"), coerce=int, validate_choice=False)
    street = StringField(_l("Số nhà, đường, thôn/xóm"), validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("Tạo mật khẩu để lưu tài khoản (không bắt buộc)"), validators=[Optional()])

    def validate_new_address(self) -> bool:
        """A typed-in address needs every part; a saved address needs none of them."""
        if self.saved_address.data:
            return True
        ok = True
        for field, message in (
            (self.recipient, _l("Nhập tên người nhận.")),
            (self.street, _l("Nhập số nhà, tên đường hoặc thôn/xóm.")),
        ):
            if not (field.data or "").strip():
                field.errors = [*field.errors, message]
                ok = False
        if not is_valid_phone(self.phone.data or ""):
            self.phone.errors = [*self.phone.errors, _l("Số điện thoại chưa đúng (ví dụ 0912 345 678).")]
            ok = False
        if not self.province_id.data:
            self.province_id.errors = [*self.province_id.errors, _l("Chọn tỉnh/thành phố.")]
            ok = False
        if not self.ward_id.data:
            self.ward_id.errors = [*self.ward_id.errors, _l("Chọn phường/xã.")]
            ok = False
        return ok


class PlaceOrderForm(FlaskForm):
    payment_method = RadioField(
        _l("Thanh toán"),
        choices=[
            SelectChoice("cod", _l("Thanh toán khi nhận hàng (COD)")),
            SelectChoice("card", _l("Thẻ Visa / Mastercard")),
            SelectChoice("vietqr", _l("Chuyển khoản ngân hàng (VietQR)")),
        ],
        default="cod",
        validators=[DataRequired(_l("Chọn cách thanh toán."))],
    )
    checkout_key = StringField(validators=[DataRequired(), Length(min=16, max=64)])
    # The total the shopper saw: if prices or promotions change before the order
    # is placed, it is refused and the new total shown instead of charged.
    expected_total = IntegerField(validators=[Optional()])
    # "Xuất hóa đơn công ty" (optional): checked in shop.checkout.invoice.
    want_invoice = BooleanField(_l("Xuất hóa đơn công ty"))
    invoice_company = StringField(_l("Tên công ty"), validators=[Optional(), Length(max=200)])
    invoice_tax_code = StringField(_l("Mã số thuế"), validators=[Optional(), Length(max=20)])
    invoice_address = StringField(_l("Địa chỉ công ty"), validators=[Optional(), Length(max=300)])
    invoice_email = StringField(_l("Email nhận hóa đơn"), validators=[Optional(), Length(max=254)])
