"""One pager for the lists of the console, the portal and the storefront.

A `Page` is a page of rows with its number and, for a counted list, the number of
pages and rows (`page_count` is the one formula); a list too long to count cheaply
is read one row past the page (`peek`), which is enough to say whether there is a
next page."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shop.extensions import db

T = TypeVar("T")


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows make, never fewer than one (an empty list is one empty page)."""
    return max(1, -(-total // per_page))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int = 1  # a peeked page does not know these two
    total: int = 0
    has_next: bool = False


def counted(items: list[T], page: int, total: int, per_page: int) -> Page[T]:
    """A page of a counted list."""
    pages = page_count(total, per_page)
    return Page(items, page, pages, total, page < pages)


def peek(stmt: Any, page: int, per_page: int) -> Page:
    """Page `page` of `stmt`'s rows, reading one more to know whether a next page exists."""
    rows = list(db.session.scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)))
    return Page(rows[:per_page], page, has_next=len(rows) > per_page)
