"""Catalog filters: one parser for the listing page (lenient) and the API (strict).

The page ignores or clamps nonsense (`?stars=abc`, `?page=-1`) so a shared link
always renders; the API refuses it with a 400 and a reason.
"""

from dataclasses import dataclass, replace

from shop.inputs import parse_int
from shop.producers.models import OWNER_TYPES
from shop.text import words

SORTS = ("relevance", "newest", "best_selling", "price_asc", "price_desc")
MAX_QUERY_WORDS = 8
MAX_QUERY_CHARS = 200
MAX_PAGE = 10_000
MAX_PRICE = 10**12


class BadParameter(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class CatalogFilter:
    q: str = ""
    stars: int | None = None
    group: str | None = None
    province: str | None = None
    owner_type: str | None = None
    producer: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24

    @property
    def terms(self) -> list[str]:
        """Folded search words (tone marks and đ removed), at most MAX_QUERY_WORDS."""
        return words(self.q[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]

    @property
    def effective_sort(self) -> str:
        if self.sort == "relevance" and not self.terms:
            return "newest"
        return self.sort

    def without(self, *names: str) -> "CatalogFilter":
        defaults = CatalogFilter()
        return replace(self, **{n: getattr(defaults, n) for n in names})

    def to_args(self, **changes) -> dict[str, str]:
        """URL query arguments for this filter (defaults omitted), with `changes` applied."""
        f = replace(self, **changes)
        args = {}
        for name, default in CatalogFilter.__dataclass_fields__.items():
            if name == "per_page":
                continue
            value = getattr(f, name)
            if value == default.default or value is None or value == "":
                continue
            args[name] = "1" if value is True else str(value)
        return args


def _int(args, name: str, strict: bool, lo: int, hi: int) -> int | None:
    raw = args.get(name)
    if raw is None or (raw == "" and not strict):
        return None
    value = parse_int(raw, maximum=2**63 - 1)
    text = str(raw).strip()
    if value is None and text.isascii() and text.lstrip("+-").isdigit():
        value = lo - 1 if text.startswith("-") else hi + 1  # too long to be a number we hold: out of range
    if value is None:
        if strict:
            raise BadParameter(name, f"'{name}' must be a whole number") from None
        return None
    if value < lo or value > hi:
        if strict:
            raise BadParameter(name, f"'{name}' must be between {lo} and {hi}")
        return min(max(value, lo), hi)
    return value


def _slug(args, name: str, strict: bool) -> str | None:
    raw = args.get(name)
    if raw is None or (raw == "" and not strict):
        return None
    if not raw or len(raw) > 120 or not all(c.isascii() and (c.isalnum() or c == "-") for c in raw):
        if strict:
            raise BadParameter(name, f"'{name}' must be a slug (letters, digits, hyphens)")
        return None
    return raw.lower()


def parse_filter(args, *, strict: bool, per_page: int, max_per_page: int) -> CatalogFilter:
    """Build a CatalogFilter from request arguments (a mapping of strings)."""
    q = args.get("q") or ""
    if len(q) > MAX_QUERY_CHARS:
        if strict:
            raise BadParameter("q", f"'q' must be at most {MAX_QUERY_CHARS} characters")
        q = q[:MAX_QUERY_CHARS]
    owner_type = args.get("owner_type")
    owner_type = None if owner_type is None or (owner_type == "" and not strict) else owner_type
    if owner_type is not None and owner_type not in OWNER_TYPES:
        if strict:
            raise BadParameter("owner_type", "'owner_type' must be one of " + ", ".join(OWNER_TYPES))
        owner_type = None
    sort = args.get("sort")
    sort = "relevance" if sort is None or (sort == "" and not strict) else sort
    if sort not in SORTS:
        if strict:
            raise BadParameter("sort", "'sort' must be one of " + ", ".join(SORTS))
        sort = "relevance"
    in_stock_raw = (args.get("in_stock") or "").lower()
    if in_stock_raw not in ("", "0", "1", "true", "false") or (strict and args.get("in_stock") == ""):
        if strict:
            raise BadParameter("in_stock", "'in_stock' must be true or false")
        in_stock_raw = ""
    price_min = _int(args, "price_min", strict, 0, MAX_PRICE)
    price_max = _int(args, "price_max", strict, 0, MAX_PRICE)
    if price_min is not None and price_max is not None and price_min > price_max and not strict:
        price_min, price_max = price_max, price_min  # a shopper's slip; the API's empty range matches nothing
    return CatalogFilter(
        q=q.strip(),
        stars=_int(args, "stars", strict, 3, 5),
        group=_slug(args, "group", strict),
        province=_slug(args, "province", strict),
        owner_type=owner_type,
        producer=_slug(args, "producer", strict),
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock_raw in ("1", "true"),
        sort=sort,
        page=_int(args, "page", strict, 1, MAX_PAGE) or 1,
        per_page=_int(args, "per_page", strict, 1, max_per_page) or per_page,
    )
