"""Reads of provinces and wards for address forms."""

from functools import lru_cache

from sqlalchemy import select

from shop.extensions import db
from shop.places.models import Province, Ward
from shop.text import fold

_WARD_KINDS = ("phuong ", "xa ", "dac khu ")


def provinces() -> list[Province]:
    """The 34 provinces in the official order."""
    return list(db.session.scalars(select(Province).order_by(Province.position)))


def province_by_slug(slug: str) -> Province | None:
    return db.session.scalars(select(Province).where(Province.slug == slug)).one_or_none()


# Folding a name costs ~0.1 ms; a province has up to ~170 wards, sorted on every delivery
# form and its POST (a third of the POST's CPU): each name is folded once per process.
@lru_cache(maxsize=8192)
def _ward_sort_key(name: str) -> str:
    # "Phường Ba Đình" is looked for under B: sort on the name after its kind.
    folded = fold(name)
    for kind in _WARD_KINDS:
        if folded.startswith(kind):
            return folded[len(kind) :]
    return folded


def wards_of(province_id: int) -> list[tuple[int, str]]:
    """(id, name) of the province's wards, alphabetical by name without "Phường/Xã"."""
    rows = db.session.execute(select(Ward.id, Ward.name).where(Ward.province_id == province_id)).all()
    return sorted(((i, n) for i, n in rows), key=lambda row: _ward_sort_key(row[1]))
