"""Stock files as a whole: reading a CSV (uploaded in the portal or pulled from a
feed) or a JSON feed into rows, and refusing a file that cannot be used at all,
with a message that says what to do. The rows themselves are checked when they
are applied (`import_services`)."""

import csv
import io
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from shop.errors import ShopError

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_ROWS_TEXT = f"{MAX_ROWS:,}".replace(",", ".")
EXPECTED_HEADER = "sku,quantity,price"
COLUMNS = ("sku", "quantity", "price")


class ImportRefused(ShopError):
    """The whole file is refused; `message` says why and what to do."""

    code = "import_refused"


@dataclass(frozen=True)
class Row:
    ref: int  # line number in a CSV, item number in JSON
    sku: object
    quantity: object
    price: object = None
    problem: str | None = None  # a reason code when the row cannot even be read


@dataclass(frozen=True)
class ParsedFile:
    fmt: str  # csv | json
    rows: list[Row]


def _decode(body: bytes) -> str:
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            return body.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            _l("Tệp không phải văn bản UTF-8. Trong Excel hãy chọn Lưu thành “CSV UTF-8 (Comma delimited)”.")
        ) from None
    if "\x00" in text:
        raise ImportRefused(_l("Tệp không phải CSV (có ký tự nhị phân)."))
    return text


def _header_refused(found: str) -> ImportRefused:
    return ImportRefused(
        _l(
            "Tiêu đề cột phải là “%(expected)s” (cột price không bắt buộc); tệp có “%(found)s”.",
            expected=EXPECTED_HEADER,
            found=found[:120],
        )
    )


def _parse_csv(text: str) -> ParsedFile:
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        reader = csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise ImportRefused(_l("Tệp trống."))
        names = [cell.strip().lower() for cell in header]
        while names and not names[-1]:
            names.pop()
        if len(set(names)) != len(names) or not {"sku", "quantity"} <= set(names) <= set(COLUMNS):
            raise _header_refused(first)
        where = {name: names.index(name) for name in names}
        rows: list[Row] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportRefused(_l("Tệp có hơn %(n)s dòng; hãy chia nhỏ.", n=MAX_ROWS_TEXT))
            ref = reader.line_num
            used = list(cells)
            while len(used) > len(names) and not used[-1].strip():
                used.pop()
            if len(used) > len(names):
                rows.append(Row(ref, cells[where["sku"]], None, problem="too_many_columns"))
                continue

            def cell(name, used=used):
                i = where.get(name)
                return used[i] if i is not None and i < len(used) else None

            rows.append(Row(ref, cell("sku"), cell("quantity"), cell("price")))
    except csv.Error:
        raise ImportRefused(_l("Không đọc được tệp CSV (dòng hỏng hoặc ô quá dài).")) from None
    return ParsedFile("csv", rows)


def _parse_json(text: str) -> ParsedFile:
    shape = '{"items": [{"sku": …, "quantity": …, "price": …}]}'
    try:
        data = json.loads(text)
    except ValueError:
        raise ImportRefused(_l("JSON không hợp lệ. JSON phải có dạng %(shape)s.", shape=shape)) from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ImportRefused(_l("JSON phải có dạng %(shape)s.", shape=shape))
    if len(items) > MAX_ROWS:
        raise ImportRefused(_l("Nguồn có hơn %(n)s mục; hãy chia nhỏ.", n=MAX_ROWS_TEXT))
    rows = []
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            rows.append(Row(i, item.get("sku"), item.get("quantity"), item.get("price")))
        else:
            rows.append(Row(i, None, None, problem="bad_item"))
    return ParsedFile("json", rows)


def parse_file(body: bytes, content_type: str = "") -> ParsedFile:
    """Rows of a CSV (header sku,quantity[,price]; comma, semicolon or tab) or a JSON
    {"items": [...]}; ImportRefused when the file as a whole cannot be used."""
    if "html" in content_type:
        raise ImportRefused(_l("Nguồn trả về một trang HTML, không phải tệp CSV/JSON."))
    text = _decode(body)
    start = text.lstrip()[:1]
    if start == "<":
        raise ImportRefused(_l("Nguồn trả về một trang HTML, không phải tệp CSV/JSON."))
    if not start:
        raise ImportRefused(_l("Tệp trống."))
    if start in "{[" or content_type == "application/json":
        return _parse_json(text)
    return _parse_csv(text)
