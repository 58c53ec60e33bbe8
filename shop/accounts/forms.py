"""Account forms. They check the shape of what was typed and mark the field at
fault; the services apply the rules again and have the last word."""

from flask_babel import lazy_gettext as _l
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from shop.accounts.phone import is_valid_phone
from shop.accounts.rules import PASSWORD_MAX_LENGTH, InvalidEmail, normalise_email, password_problem
from shop.forms import Form as FlaskForm


def optional_int(value) -> int | None:
    """Coerce a select's value without WTForms' English "Invalid choice" errors."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def valid_email(form, field) -> None:
    try:
        normalise_email(field.data or "")
    except InvalidEmail:
        raise ValidationError(_l("Địa chỉ email không hợp lệ.")) from None


def valid_phone(form, field) -> None:
    if (field.data or "").strip() and not is_valid_phone(field.data):
        raise ValidationError(_l("Số điện thoại không hợp lệ (ví dụ: 0912 345 678)."))


def acceptable_password(form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def required(message) -> DataRequired:
    return DataRequired(message=message)


EMAIL_REQUIRED = _l("Vui lòng nhập email.")
PASSWORD_REQUIRED = _l("Vui lòng nhập mật khẩu.")


class ActionForm(FlaskForm):
    """A button that changes something (logout, delete, resend): only the CSRF token."""


class RegisterForm(FlaskForm):
    name = StringField(_l("Họ và tên"), validators=[required(_l("Vui lòng nhập họ tên.")), Length(max=120)])
    email = EmailField(_l("Email"), validators=[required(EMAIL_REQUIRED), Length(max=254), valid_email])
    phone = TelField(_l("Số điện thoại (không bắt buộc)"), validators=[Length(max=20), valid_phone])
    password = PasswordField(
        _l("Mật khẩu"), validators=[required(PASSWORD_REQUIRED), Length(max=PASSWORD_MAX_LENGTH), acceptable_password]
    )
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[required(EMAIL_REQUIRED), Length(max=254)])
    password = PasswordField(_l("Mật khẩu"), validators=[required(PASSWORD_REQUIRED), Length(max=PASSWORD_MAX_LENGTH)])
    remember = BooleanField(_l("Ghi nhớ đăng nhập trên thiết bị này"))
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[required(EMAIL_REQUIRED), Length(max=254), valid_email])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[required(PASSWORD_REQUIRED), Length(max=PASSWORD_MAX_LENGTH), acceptable_password],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Họ và tên"), validators=[required(_l("Vui lòng nhập họ tên.")), Length(max=120)])
    phone = TelField(_l("Số điện thoại"), validators=[Length(max=20), valid_phone])
    locale = SelectField(
        _l("Ngôn ngữ"), choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")], validate_choice=False
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Mật khẩu hiện tại"), validators=[required(PASSWORD_REQUIRED), Length(max=PASSWORD_MAX_LENGTH)]
    )
    new_password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[required(PASSWORD_REQUIRED), Length(max=PASSWORD_MAX_LENGTH), acceptable_password],
    )


class PlaceFields:
    """Province, then commune/ward: the view fills the choices (all provinces, and
    the wards of the chosen one) and checks that the ward lies in the province."""

    province_id = SelectField(
        _l("Tỉnh/Thành phố"),
        coerce=optional_int,
        validate_choice=False,
        validators=[required(_l("Chọn tỉnh/thành phố."))],
    )
    ward_id = SelectField(
        _l("Phường/Xã"), coerce=optional_int, validate_choice=False, validators=[required(_l("Chọn phường/xã."))]
    )


class AddressForm(PlaceFields, FlaskForm):
    recipient = StringField(
        _l("Tên người nhận"), validators=[required(_l("Vui lòng nhập tên người nhận.")), Length(max=120)]
    )
    phone = TelField(
        _l("Số điện thoại người nhận"),
        validators=[required(_l("Vui lòng nhập số điện thoại.")), Length(max=20), valid_phone],
    )
    street = StringField(
        _l("Số nhà, đường, thôn/xóm"),
        validators=[required(_l("Vui lòng nhập số nhà, tên đường/thôn, xóm.")), Length(max=200)],
    )
    is_default = BooleanField(_l("Đặt làm địa chỉ mặc định"))
