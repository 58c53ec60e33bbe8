"""Company invoice details a shopper may give at checkout ("Xuất hóa đơn công ty").

A Vietnamese tax code (mã số thuế, MST) is 10 digits whose last is a check digit
over the first nine (weights 31, 29, 23, 19, 17, 13, 7, 5, 3: the check digit is
10 minus the weighted sum modulo 11), or those 10 digits followed by a dash and
three digits for a dependent unit (branch), 001 to 999."""

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from shop.errors import ShopError

WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_TAX_RE = re.compile(r"^(\d{10})(?:-?(\d{3}))?$")


class InvoiceError(ShopError):
    code = "bad_invoice"

    def __init__(self, message, *, field: str):
        super().__init__(message)
        self.field = field


def tax_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when no valid code starts with them."""
    value = 10 - sum(int(d) * w for d, w in zip(first_nine, WEIGHTS, strict=True)) % 11
    if value == 10:
        return None
    return value % 10


def normalise_tax_code(text: str) -> str | None:
    """The tax code as "0100109106" or "0100109106-001", or None if it is not valid."""
    match = _TAX_RE.match(re.sub(r"[\s.]", "", text or ""))
    if not match:
        return None
    main, branch = match.group(1), match.group(2)
    if tax_check_digit(main[:9]) != int(main[9]):
        return None
    if branch is not None:
        if branch == "000":
            return None
        return f"{main}-{branch}"
    return main


@dataclass(frozen=True)
class Invoice:
    company: str
    tax_code: str
    address: str
    email: str


def check_invoice(company: str, tax_code: str, address: str, email: str) -> Invoice:
    """Validated invoice details; InvoiceError names the field that is wrong."""
    company, address, email = (company or "").strip(), (address or "").strip(), (email or "").strip()
    if not company or len(company) > 200:
        raise InvoiceError(_l("Nhập tên công ty (tối đa 200 ký tự)."), field="invoice_company")
    code = normalise_tax_code(tax_code)
    if code is None:
        raise InvoiceError(
            _l("Mã số thuế gồm 10 chữ số (chi nhánh: thêm -001…), chữ số cuối là số kiểm tra."),
            field="invoice_tax_code",
        )
    if not address or len(address) > 300:
        raise InvoiceError(_l("Nhập địa chỉ công ty (tối đa 300 ký tự)."), field="invoice_address")
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvoiceError(_l("Email nhận hóa đơn chưa đúng."), field="invoice_email") from None
    return Invoice(company, code, address, email[:254])
