"""Finding an order's payment code in a bank transfer's note.

Banks rewrite the note the payer typed: upper or lower case, spaces or dots or
dashes inside it, their own prefixes and suffixes ("MBVCB.3278.…CT tu 0123…",
"IBFT …", a reference number glued on). So the note is reduced to its letters
and digits, upper-cased, and searched for the code's fixed shape: "OC", six
digits of the date, five of the order alphabet. Every place the shape occurs is
a candidate; the caller keeps the one that names a real order."""

import re

from shop.orders.models import ORDER_ALPHABET

_CODE_RE = re.compile(r"(?=(OC\d{6}[" + ORDER_ALPHABET + r"]{5}))")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def squeeze(text: str) -> str:
    return _NOT_ALNUM.sub("", (text or "").upper())


def candidates(*texts: str) -> list[str]:
    """Payment codes ("OC261202ABCDE") found in the texts, first found first, once each."""
    found: list[str] = []
    for text in texts:
        for match in _CODE_RE.finditer(squeeze(text)):
            if match.group(1) not in found:
                found.append(match.group(1))
    return found


def order_number(code: str) -> str:
    """The order number a payment code stands for ("OC261202-ABCDE")."""
    return f"{code[:8]}-{code[8:]}"
