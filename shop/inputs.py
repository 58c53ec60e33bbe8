"""One layer for odd input, before any view runs (issue 10 item 8).

- Integers in URLs (`<int:...>`) are bounded to the database's integer range
  (PostgreSQL `integer`, the narrower of the two databases): a larger id is no
  row, so the route does not match and the answer is a 404, never an overflow.
- A NUL byte is refused (400) wherever it arrives: path, query, form fields
  and JSON strings. PostgreSQL cannot store one and nothing we show needs one.
- `parse_int` is the one way views read an integer from a query or form value.
"""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1  # PostgreSQL integer; SQLite allows 2**63 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` that matches only ids the database can hold."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=DB_INT_MAX if max is None else max, signed=signed)


def parse_int(raw, *, minimum: int | None = None, maximum: int = DB_INT_MAX) -> int | None:
    """`raw` (a query or form value) as an int within [minimum, maximum], else None."""
    if raw is None:
        return None
    text = str(raw).strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
        return None
    value = int(text)
    if value > maximum or (minimum is not None and value < minimum) or value < -DB_INT_MAX:
        return None
    return value


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul_bytes():
    if "\x00" in request.path or "%00" in request.query_string.decode("latin-1").lower():
        abort(400)
    for multi in (request.args, request.form):
        for key, values in multi.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                abort(400)
    if request.is_json and _has_nul(request.get_json(silent=True)):
        abort(400)


def install_input_checks(app) -> None:
    """Call right after the Flask app is made, before any blueprint adds its routes."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_refuse_nul_bytes)
