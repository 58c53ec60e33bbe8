"""The order-line CSV export, written once for the console and the producer portal.

Each caller reads its own rows (the portal's query is scoped to the signed-in
producer, the console's is not) and picks its columns from the shared ones here
plus its own; this module only turns rows into a streamed CSV download
(`shop.csvexport`: UTF-8 with a byte-order mark, formula cells neutralised)."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask_babel import lazy_gettext as _l

from shop.csvexport import csv_download
from shop.formatting import vn_datetime
from shop.orders.models import Order, OrderLine, SubOrder


@dataclass(frozen=True)
class ExportRow:
    """One order line with its part (sub-order) and order, and whether it is the first
    line of each, so that per-part and per-order amounts are written once and a
    column sum adds up."""

    order: Order
    sub: SubOrder
    line: OrderLine
    first_of_sub: bool
    first_of_order: bool = False


@dataclass(frozen=True)
class Column:
    """A CSV column: its (translatable) header and its cell for a row, given the locale
    that dates are written in."""

    header: Any  # a lazy string, translated when the header row is written
    cell: Callable[[ExportRow, str], object]


def column(header: Any, cell: Callable[[ExportRow], object]) -> Column:
    """A column whose cell does not depend on the locale."""
    return Column(header, lambda row, _locale: cell(row))


# The columns both exports share, with the same header and the same cell.
NUMBER = column(_l("Mã đơn"), lambda r: r.order.number)
PLACED_AT = Column(_l("Thời gian đặt"), lambda r, locale: vn_datetime(r.order.created_at, locale))
RECIPIENT = column(_l("Người nhận"), lambda r: r.order.recipient)
PHONE = column(_l("Số điện thoại"), lambda r: r.order.phone)
ADDRESS = column(_l("Địa chỉ"), lambda r: r.order.address_text)
SKU = column(_l("SKU"), lambda r: r.line.sku)
PRODUCT = column(_l("Sản phẩm"), lambda r: r.line.product_name)
VARIANT = column(_l("Phân loại"), lambda r: r.line.variant_label)
UNIT_PRICE = column(_l("Đơn giá"), lambda r: r.line.unit_price)
QUANTITY = column(_l("Số lượng"), lambda r: r.line.quantity)
CANCELLED = column(_l("Số lượng huỷ"), lambda r: r.line.cancelled_quantity)
LINE_TOTAL = column(_l("Thành tiền"), lambda r: r.line.line_total)
# Runs of them that both exports write side by side.
DELIVERY = (RECIPIENT, PHONE, ADDRESS)
ITEM = (SKU, PRODUCT, VARIANT, UNIT_PRICE, QUANTITY, CANCELLED)
# Once per part, so that a column sum gives the fees charged.
SHIPPING_FEE = column(_l("Phí vận chuyển"), lambda r: r.sub.shipping_fee if r.first_of_sub else "")


def _lines(columns: Sequence[Column], rows: Iterable[ExportRow], locale: str) -> Iterator[Sequence[object]]:
    yield [str(column.header) for column in columns]
    for row in rows:
        yield [column.cell(row, locale) for column in columns]


def order_lines_csv(filename: str, columns: Sequence[Column], rows: Iterable[ExportRow], locale: str) -> Response:
    """Stream `rows` (already scoped by the caller) as a CSV attachment: a header row, then
    one row per order line with these columns."""
    return csv_download(filename, _lines(columns, rows, locale))
