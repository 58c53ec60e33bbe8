"""CSV files for spreadsheets: UTF-8 with a byte-order mark (so Excel reads
Vietnamese), and cells that a spreadsheet would run as formulas neutralised."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context


def safe_cell(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(rows: Iterable[Sequence], chunk: int = 100) -> Iterator[str]:
    """The rows as CSV text in chunks, the first starting with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for n, row in enumerate(rows, 1):
        writer.writerow([safe_cell(value) for value in row])
        if n % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(rows: Iterable[Sequence]) -> str:
    return "".join(csv_rows(rows))


def csv_download(filename: str, rows: Iterable[Sequence]) -> Response:
    """Stream the rows (header first) as a CSV attachment."""
    return Response(
        stream_with_context(csv_rows(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
