"""The category tree and the provinces, as plain snapshots kept in each process.

Every catalog page needs both; they change only when an operator edits the
category tree (which purges the ``ref`` tag), so each process keeps one snapshot
and checks the tag's stamp once per request instead of reading ~140 rows.
"""

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select

from shop.cache import LocalMemo
from shop.catalog.models import Category
from shop.extensions import db
from shop.places.models import Province
from shop.text import words


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    parent_id: int | None
    level: int
    code: str
    slug: str
    name_vi: str
    name_en: str
    position: int

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_vi


@dataclass(frozen=True)
class ProvinceInfo:
    id: int
    name: str
    slug: str
    kind: str
    position: int
    region: str
    merged_names: tuple[str, ...] = ()


@dataclass
class Reference:
    categories: list[CategoryInfo]
    provinces: list[ProvinceInfo]
    by_slug: dict[str, CategoryInfo] = field(default_factory=dict)
    by_id: dict[int, CategoryInfo] = field(default_factory=dict)
    children: dict[int | None, list[CategoryInfo]] = field(default_factory=dict)
    province_by_slug: dict[str, ProvinceInfo] = field(default_factory=dict)
    province_by_id: dict[int, ProvinceInfo] = field(default_factory=dict)

    def __post_init__(self):
        for c in self.categories:
            self.by_slug[c.slug] = c
            self.by_id[c.id] = c
            self.children.setdefault(c.parent_id, []).append(c)
        for p in self.provinces:
            self.province_by_slug[p.slug] = p
            self.province_by_id[p.id] = p

    @cached_property
    def name_words(self) -> list[tuple[CategoryInfo, tuple[list[str], ...]]]:
        """Each category with the folded words of its Vietnamese and English names
        (search asks which categories a query names; folding ~140 names twice was
        ~5% of a new search's CPU)."""
        return [(c, (words(c.name_vi), words(c.name_en))) for c in self.categories]

    @property
    def groups(self) -> list[CategoryInfo]:
        return self.children.get(None, [])

    def descendant_ids(self, category: CategoryInfo) -> list[int]:
        ids, stack = [], [category]
        while stack:
            c = stack.pop()
            ids.append(c.id)
            stack.extend(self.children.get(c.id, []))
        return ids

    def group_of(self, category_id: int) -> CategoryInfo | None:
        c = self.by_id.get(category_id)
        while c is not None and c.parent_id is not None:
            c = self.by_id.get(c.parent_id)
        return c

    def trail(self, category_id: int) -> list[CategoryInfo]:
        """The category and its ancestors, from the group down."""
        out, c = [], self.by_id.get(category_id)
        while c is not None:
            out.append(c)
            c = self.by_id.get(c.parent_id) if c.parent_id else None
        return out[::-1]


def _load() -> Reference:
    categories = [
        CategoryInfo(c.id, c.parent_id, c.level, c.code, c.slug, c.name_vi, c.name_en, c.position)
        for c in db.session.scalars(select(Category).order_by(Category.level, Category.position, Category.id))
    ]
    provinces = [
        ProvinceInfo(p.id, p.name, p.slug, p.kind, p.position, p.region, tuple(p.merged_names))
        for p in db.session.scalars(select(Province).order_by(Province.position))
    ]
    return Reference(categories, provinces)


_memo = LocalMemo("catalog-reference", ("ref",))


def reference() -> Reference:
    return _memo.get(_load)
