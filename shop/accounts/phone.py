"""Vietnamese phone numbers: what shoppers type, and the one form we store.

Accepted: "0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678",
"(028) 3822 1234". Stored: the domestic form, "0912345678". Mobiles have 10
digits and start 03, 05, 07, 08 or 09; landlines have 11 and start 02.
"""

import re

_SEPARATORS = re.compile(r"[\s.\-()]")
_MOBILE = re.compile(r"0[35789]\d{8}")
_LANDLINE = re.compile(r"02\d{9}")


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str) -> str:
    """The domestic digits of a Vietnamese number, or InvalidPhone."""
    number = _SEPARATORS.sub("", raw or "")
    if number.startswith("+84"):
        number = "0" + number[3:]
    elif number.startswith("0084"):
        number = "0" + number[4:]
    elif number.startswith("84") and len(number) in (11, 12):
        # Domestic numbers always start with 0, so a leading 84 is the country code.
        number = "0" + number[2:]
    if not (_MOBILE.fullmatch(number) or _LANDLINE.fullmatch(number)):
        raise InvalidPhone(raw)
    return number


def is_valid_phone(raw: str) -> bool:
    try:
        normalise_phone(raw)
    except InvalidPhone:
        return False
    return True


def format_phone(number: str) -> str:
    """Group stored digits for reading: "0912 345 678", "0283 822 1234"."""
    if len(number) in (10, 11):
        return f"{number[:4]} {number[4:7]} {number[7:]}"
    return number
