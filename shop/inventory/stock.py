"""The stock rule and the checks on one incoming stock line. Pure: no database.

Producers send stock ON HAND: what is physically in their store room, counted
before they ship anything. The shop keeps only `Variant.stock`, the AVAILABLE
stock (what shoppers may still buy); checkout takes from it and cancellations
give back to it. Between the two sit the order lines not yet shipped:

    held       = Σ (quantity − cancelled_quantity) of the variant's order lines
                 in sub-orders that are pending or confirmed (not shipped,
                 delivered or cancelled) of orders that are not cancelled;
    held_paid  = the part of `held` in orders that are paid (card) or placed
                 (cash on delivery): sold, to be shipped;
    held − held_paid = reservations of card orders still awaiting payment
                 (they expire after a few minutes unless paid).

Setting on hand to N (see `decide`):

1. N < held_paid: REFUSED for that SKU ("đang có held_paid sản phẩm đã bán chưa
   giao"). Those units are sold; accepting N would mean the shop cannot ship
   them. Nothing changes for the SKU (neither stock nor price).
2. held_paid ≤ N < held: APPLIED, available = 0. The awaiting-payment
   reservations keep their hold (the shopper may be typing their card number);
   the result carries `short = held − N`, the units those reservations would
   lack if they are all paid. If they expire instead, their units come back
   to available, which then over-states the shelf by up to `short` until the
   producer's next sync (the shop stores available stock only, so it cannot
   remember the debt).
3. N ≥ held: APPLIED, available = N − held.

So available = max(0, N − held) is never negative, and a paid order is never
left without stock. A line whose new available stock and price equal the
current ones is UNCHANGED (nothing is written, no partner is told).
"""

import re
from dataclasses import dataclass

MAX_QUANTITY = 10_000_000  # units on hand of one SKU
MAX_PRICE = 1_000_000_000  # đồng; the column is a 32-bit integer

APPLIED, UNCHANGED, REJECTED, UNKNOWN = "applied", "unchanged", "rejected", "unknown"

# Why a line was refused (or, for "short_reserved", a warning on an applied
# line). Messages are Vietnamese msgids; `n` fills %(n)s.
REASONS = {
    "sold_not_shipped": "đang có %(n)s sản phẩm đã bán chưa giao",
    "short_reserved": "%(n)s sản phẩm đang giữ cho đơn chờ thanh toán vượt quá tồn kho",
    "bad_quantity": "số lượng phải là số nguyên từ 0 trở lên",
    "negative_quantity": "số lượng không được âm",
    "quantity_too_large": "số lượng quá lớn (tối đa %(n)s)",
    "bad_price": "giá phải là số nguyên đồng lớn hơn 0",
    "price_too_large": "giá quá lớn (tối đa %(n)s đồng)",
    "missing_sku": "thiếu SKU",
    "bad_sku": "SKU không hợp lệ",
    "formula": "ô bắt đầu bằng =, +, -, @ bị từ chối (có thể là công thức)",
    "nothing_to_change": "thiếu số lượng (và giá)",
    "too_many_columns": "dòng có nhiều cột hơn tiêu đề",
    "bad_item": "mục không phải một đối tượng {sku, quantity}",
    "duplicate_sku": "SKU đã xuất hiện ở dòng %(n)s",
    "unknown_sku": "không có SKU này",
    "other_producer": "SKU thuộc nhà sản xuất khác",
}


def reason_text(code: str | None, n: int | None = None) -> str | None:
    """The Vietnamese sentence for a reason code (the API and stored reports use it)."""
    if code is None:
        return None
    return REASONS[code] % {"n": n}


class CellError(ValueError):
    """A cell that cannot be used; `code` is a key of REASONS."""

    def __init__(self, code: str, n: int | None = None):
        super().__init__(code)
        self.code = code
        self.n = n


# Digits, or digits grouped by threes with "." or "," (Excel writes a formatted
# cell as shown: "120.000"). Đồng and units have no fractions, so grouping is
# never ambiguous; "1.5" is refused.
_PLAIN = re.compile(r"\d+")
_GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Whatever the catalog allows in a SKU, but no control characters and at most the column's 64.
_SKU = re.compile(r"[^\x00-\x1f\x7f]{1,64}")


def _whole_number(value, *, negative_code: str, bad_code: str) -> int:
    if isinstance(value, bool):
        raise CellError(bad_code)
    if isinstance(value, int):
        if value < 0:
            raise CellError(negative_code)
        return value
    if isinstance(value, float):
        if value.is_integer():
            return _whole_number(int(value), negative_code=negative_code, bad_code=bad_code)
        raise CellError(bad_code)
    if not isinstance(value, str):
        raise CellError(bad_code)
    text = value.strip()
    if re.fullmatch(r"-\s*\d[\d.,]*", text):
        raise CellError(negative_code)
    if text.startswith(_FORMULA_START):
        raise CellError("formula")
    if _PLAIN.fullmatch(text):
        return int(text)
    if _GROUPED.fullmatch(text):
        return int(re.sub(r"[.,]", "", text))
    raise CellError(bad_code)


def parse_quantity(value) -> int:
    """Units on hand from a JSON value or a CSV cell: a whole number ≥ 0."""
    quantity = _whole_number(value, negative_code="negative_quantity", bad_code="bad_quantity")
    if quantity > MAX_QUANTITY:
        raise CellError("quantity_too_large", MAX_QUANTITY)
    return quantity


def parse_price(value) -> int:
    """A price in whole đồng, > 0."""
    price = _whole_number(value, negative_code="bad_price", bad_code="bad_price")
    if price <= 0:
        raise CellError("bad_price")
    if price > MAX_PRICE:
        raise CellError("price_too_large", MAX_PRICE)
    return price


def parse_sku(value) -> str:
    """A SKU as written in the catalog. Cells that a spreadsheet would run as a
    formula (=, +, -, @) are refused outright rather than stored or echoed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellError("missing_sku")
    if not isinstance(value, str):
        raise CellError("bad_sku")
    text = value.strip()
    if text.startswith(_FORMULA_START):
        raise CellError("formula")
    if not _SKU.fullmatch(text):
        raise CellError("bad_sku")
    return text


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class StockLine:
    """One checked line: set `on_hand` (None: leave the stock) and/or `price` (None: leave it)."""

    ref: int  # the line number of a file, or the index of an API item
    sku: str
    on_hand: int | None
    price: int | None


@dataclass(frozen=True)
class LineRefused:
    ref: int
    sku: str  # as sent (shown back to the producer; never a formula, see `safe_echo`)
    code: str
    n: int | None = None


def safe_echo(value) -> str:
    """A cell as it may be shown back in a report: text, at most 64 characters, and
    with a leading ' when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value).strip()[:64]
    return "'" + text if text.startswith(_FORMULA_START) else text


def check_line(ref: int, sku, quantity, price=None) -> StockLine | LineRefused:
    """Validate one incoming line (a CSV row or a JSON item)."""
    try:
        sku_text = parse_sku(sku)
    except CellError as err:
        return LineRefused(ref, safe_echo(sku), err.code, err.n)
    try:
        on_hand = None if _blank(quantity) else parse_quantity(quantity)
        new_price = None if _blank(price) else parse_price(price)
    except CellError as err:
        return LineRefused(ref, sku_text, err.code, err.n)
    if on_hand is None and new_price is None:
        return LineRefused(ref, sku_text, "nothing_to_change")
    return StockLine(ref, sku_text, on_hand, new_price)


@dataclass(frozen=True)
class Decision:
    status: str  # applied | unchanged | rejected
    available: int  # after the decision (the current value when rejected)
    price: int
    code: str | None = None  # why rejected, or "short_reserved" as a warning
    n: int | None = None


def decide(
    *, on_hand: int | None, price: int | None, held: int, held_paid: int, available: int, current_price: int
) -> Decision:
    """Apply the stock rule (module docstring) to one SKU."""
    if held < 0 or not 0 <= held_paid <= held:
        raise ValueError(f"inconsistent holds: held={held}, held_paid={held_paid}")
    if on_hand is not None and on_hand < held_paid:
        return Decision(REJECTED, available, current_price, "sold_not_shipped", held_paid)
    new_available = available if on_hand is None else max(0, on_hand - held)
    new_price = current_price if price is None else price
    code, n = (None, None)
    if on_hand is not None and on_hand < held:
        code, n = "short_reserved", held - on_hand
    if new_available == available and new_price == current_price:
        return Decision(UNCHANGED, available, current_price, code, n)
    return Decision(APPLIED, new_available, new_price, code, n)


def first_occurrences(lines: list[StockLine], seen: dict[str, int] | None = None):
    """Split lines into those to apply and duplicates of a SKU already seen (in
    this batch or, through `seen`, in earlier chunks of the same file). `seen`
    is updated with the refs of first occurrences."""
    seen = {} if seen is None else seen
    keep, duplicates = [], []
    for line in lines:
        first = seen.get(line.sku)
        if first is None:
            seen[line.sku] = line.ref
            keep.append(line)
        else:
            duplicates.append(LineRefused(line.ref, line.sku, "duplicate_sku", first))
    return keep, duplicates
