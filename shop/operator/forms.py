"""The console's forms (Flask-WTF, like the portal's and the checkout's). Fields
parse what was typed; the rules about the values stay in the services, whose
refusals the views put beside the field they name (`show_error`)."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Regexp

from shop.forms import Form
from shop.portal.forms import DayField


def _clip(limit: int):
    """A filter keeping at most `limit` characters (a guard; the services set the real limits)."""
    return lambda text: text[:limit] if text else text


def _strip(limit: int):
    """A filter: spaces around dropped, then at most `limit` characters."""
    return lambda text: text.strip()[:limit] if text else text


def show_error(form: Form, field_name: str | None, message) -> None:
    """A service's refusal beside the field it names, or above the form."""
    field = getattr(form, field_name, None) if field_name else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


def _legal_text(label):
    return StringField(label, default="", filters=[_clip(400)])


class LegalDetailsForm(Form):
    """The operator's legal details, printed in every page's footer and in the policies."""

    legal_name = _legal_text(_l("Tên pháp nhân vận hành"))
    business_code = _legal_text(_l("Mã số doanh nghiệp"))
    business_code_date = DayField(_l("Ngày cấp"), invalid=_l("Ngày không hợp lệ."))
    business_code_issuer = _legal_text(_l("Nơi cấp"))
    address = _legal_text(_l("Địa chỉ trụ sở"))
    hotline = _legal_text(_l("Hotline"))
    email = _legal_text(_l("Email hỗ trợ"))
    support_hours = _legal_text(_l("Giờ làm việc"))
    effective_date = DayField(_l("Ngày hiệu lực của quy chế và chính sách"), invalid=_l("Ngày không hợp lệ."))

    FIELDS = (
        "legal_name",
        "business_code",
        "business_code_date",
        "business_code_issuer",
        "address",
        "hotline",
        "email",
        "support_hours",
        "effective_date",
    )

    def values(self) -> dict:
        return {name: self[name].data for name in self.FIELDS}


class BankSettingsForm(Form):
    """VietQR: the receiving account, how long a transfer order holds its stock, on or off.
    The account is checked by `shop.bank.services.configure`."""

    enabled = BooleanField(_l("Cho phép thanh toán bằng chuyển khoản ngân hàng (VietQR)"), render_kw={"value": "1"})
    # The banks are the NAPAS list (`shop.bank.directory`), set by the view; an unknown BIN
    # is refused by the service with its own message, not by WTForms' "Not a valid choice".
    bank_bin = SelectField(_l("Ngân hàng nhận"), validate_choice=False, default="", filters=[_strip(8)])
    account_number = StringField(
        _l("Số tài khoản"), default="", filters=[_strip(40)], render_kw={"inputmode": "numeric"}
    )
    account_name = StringField(_l("Chủ tài khoản"), default="", filters=[_strip(80)])
    vietqr_reservation_minutes = StringField(
        _l("Giữ hàng (phút)"),
        filters=[_strip(6)],
        validators=[Regexp(r"^[0-9]+$", message=_l("Nhập số phút."))],
        render_kw={"inputmode": "numeric"},
    )
