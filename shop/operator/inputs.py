"""Reading the numbers operators type: whole đồng, counts and percentages.

Pure functions: each returns the value or raises `InputError` naming the field,
with a message that says what to type instead."""

import re
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from shop.errors import ShopError

# 3000000 or 3.000.000 (Vietnamese thousands) or 3 000 000; never a decimal part.
_DONG = re.compile(r"\d+|\d{1,3}(?:[.\s]\d{3})+")
_PERCENT = re.compile(r"\d{1,3}(?:[.,]\d{1,2})?")
# The most an amount may be: money columns are 32-bit integers (PostgreSQL's
# `integer` stops at 2,147,483,647; SQLite refuses Python ints past 64 bits).
MAX_DONG = 2_000_000_000


class InputError(ShopError):
    """A value the operator must correct; `field` names the input."""

    code = "bad_input"

    def __init__(self, message: str, *, field: str, code: str | None = None):
        super().__init__(message, code=code)
        self.field = field


def parse_dong(raw: str | None, field: str, *, positive: bool = False) -> int:
    """Whole đồng: "120000" or "120.000" -> 120000. Refuses blanks, signs,
    decimals ("1.5", "1,5"), words ("abc") and amounts above MAX_DONG."""
    text = (raw or "").strip()
    if not _DONG.fullmatch(text):
        raise InputError(
            _("Nhập số tiền là số đồng nguyên, không âm (ví dụ 120000 hoặc 120.000)."), field=field, code="bad_amount"
        )
    value = int(re.sub(r"\D", "", text))
    if positive and value <= 0:
        raise InputError(_("Số tiền phải lớn hơn 0."), field=field, code="bad_amount")
    if value > MAX_DONG:
        raise InputError(
            _("Số tiền tối đa là %(most)s đồng.", most=f"{MAX_DONG:,}".replace(",", ".")),
            field=field,
            code="bad_amount",
        )
    return value


def parse_count(raw: str | None, field: str, *, minimum: int = 0, maximum: int = 10**9) -> int:
    """A whole number between `minimum` and `maximum`."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit():
        raise InputError(_("Nhập một số nguyên không âm."), field=field, code="bad_number")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InputError(
            _("Nhập một số từ %(low)s đến %(high)s.", low=minimum, high=maximum), field=field, code="out_of_range"
        )
    return value


def parse_percent_bp(raw: str | None, field: str) -> int:
    """A percentage with up to two decimals ("8", "8.5", "8,25") in basis points (825)."""
    text = (raw or "").strip().rstrip("%").strip()
    if not _PERCENT.fullmatch(text):
        raise InputError(
            _("Nhập tỷ lệ phần trăm từ 0 đến 100, tối đa hai chữ số thập phân (ví dụ 8 hoặc 8,5)."),
            field=field,
            code="bad_percent",
        )
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern already rules it out
        raise InputError(_("Tỷ lệ không hợp lệ."), field=field, code="bad_percent") from None
    if value > 100:
        raise InputError(
            _("Nhập tỷ lệ phần trăm từ 0 đến 100, tối đa hai chữ số thập phân (ví dụ 8 hoặc 8,5)."),
            field=field,
            code="bad_percent",
        )
    return int(value * 100)


def percent_text(bp: int, locale: str = "vi") -> str:
    """Basis points as the percentage an operator types: 800 -> "8", 825 -> "8,25" ("8.25" in English)."""
    whole, part = divmod(bp, 100)
    mark = "." if locale == "en" else ","
    return str(whole) if not part else f"{whole}{mark}{part:02d}".rstrip("0")
