"""Reads for the storefront and the public API (no writes here).

Each page stays within a handful of SQL statements whatever its size: listing
rows come with their producer and province in one joined SELECT, the total in a
second, and all facet counts in a single UNION ALL statement.
"""

from dataclasses import dataclass, field
from datetime import date

from flask import g
from sqlalchemy import Select, String, and_, cast, func, literal, literal_column, select, text, union_all
from sqlalchemy.orm import contains_eager, selectinload

from shop.cache import cached_value
from shop.catalog.filters import CatalogFilter
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.formatting import today_vn
from shop.places.models import Province
from shop.producers.models import OWNER_TYPES, Certificate, Producer

# --- reference data (small tables, read once per request) -----------------


@dataclass
class Reference:
    categories: list[Category]
    provinces: list[Province]
    by_slug: dict[str, Category] = field(default_factory=dict)
    by_id: dict[int, Category] = field(default_factory=dict)
    children: dict[int | None, list[Category]] = field(default_factory=dict)
    province_by_slug: dict[str, Province] = field(default_factory=dict)
    province_by_id: dict[int, Province] = field(default_factory=dict)

    def __post_init__(self):
        for c in self.categories:
            self.by_slug[c.slug] = c
            self.by_id[c.id] = c
            self.children.setdefault(c.parent_id, []).append(c)
        for p in self.provinces:
            self.province_by_slug[p.slug] = p
            self.province_by_id[p.id] = p

    @property
    def groups(self) -> list[Category]:
        return self.children.get(None, [])

    def descendant_ids(self, category: Category) -> list[int]:
        ids, stack = [], [category]
        while stack:
            c = stack.pop()
            ids.append(c.id)
            stack.extend(self.children.get(c.id, []))
        return ids

    def group_of(self, category_id: int) -> Category | None:
        c = self.by_id.get(category_id)
        while c is not None and c.parent_id is not None:
            c = self.by_id.get(c.parent_id)
        return c

    def trail(self, category_id: int) -> list[Category]:
        """The category and its ancestors, from the group down."""
        out, c = [], self.by_id.get(category_id)
        while c is not None:
            out.append(c)
            c = self.by_id.get(c.parent_id) if c.parent_id else None
        return out[::-1]


def reference() -> Reference:
    if "catalog_reference" not in g:
        g.catalog_reference = Reference(
            categories=list(
                db.session.scalars(select(Category).order_by(Category.level, Category.position, Category.id))
            ),
            provinces=list(db.session.scalars(select(Province).order_by(Province.position))),
        )
    return g.catalog_reference


# --- listing ----------------------------------------------------------------


def _visible() -> list:
    return [Product.listed.is_(True)]


def _match_expression(terms: list[str]) -> str:
    """A prefix query on folded words; words are [0-9a-z]+ so nothing needs quoting."""
    if db.engine.dialect.name == "postgresql":
        return " & ".join(f"{t}:*" for t in terms)
    return " ".join(f'"{t}"*' for t in terms)


def _search_subquery(terms: list[str]):
    """(product_id, rank) rows matching every term; lower rank is better."""
    expr = _match_expression(terms)
    if db.engine.dialect.name == "postgresql":
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"), expr)
        vector = literal_column("product.search_vector")
        return (
            select(Product.id.label("product_id"), (-func.ts_rank(vector, tsq)).label("rank"))
            .where(vector.op("@@")(tsq))
            .cte("search")
            .prefix_with("MATERIALIZED")
        )
    return (
        select(
            literal_column("rowid").label("product_id"),
            literal_column("bm25(product_fts, 10.0, 1.0)").label("rank"),
        )
        .select_from(text("product_fts"))
        .where(text("product_fts MATCH :match").bindparams(match=expr))
        # Materialised: run the full-text match once, not once per product row.
        .cte("search")
        .prefix_with("MATERIALIZED")
    )


def _conditions(f: CatalogFilter, ref: Reference, today: date) -> list | None:
    """WHERE clauses for `f`; None when a slug names nothing (no results)."""
    conds = _visible()
    if f.stars:
        conds += [Product.cert_stars >= f.stars, Product.cert_valid_until >= today]
    if f.group:
        cat = ref.by_slug.get(f.group)
        if cat is None:
            return None
        conds.append(Product.category_id.in_(ref.descendant_ids(cat)))
    if f.province:
        prov = ref.province_by_slug.get(f.province)
        if prov is None:
            return None
        conds.append(Product.province_id == prov.id)
    if f.owner_type:
        conds.append(Product.owner_type == f.owner_type)
    if f.producer:
        conds.append(Product.producer_id == select(Producer.id).where(Producer.slug == f.producer).scalar_subquery())
    if f.price_min is not None:
        conds.append(Product.min_price >= f.price_min)
    if f.price_max is not None:
        conds.append(Product.min_price <= f.price_max)
    if f.in_stock:
        conds.append(Product.in_stock.is_(True))
    return conds


def _base(f: CatalogFilter, ref: Reference, today: date, search) -> Select | None:
    conds = _conditions(f, ref, today)
    if conds is None:
        return None
    stmt = select(Product.id)
    if search is not None:
        stmt = stmt.join(search, search.c.product_id == Product.id)
    return stmt.where(and_(*conds))


@dataclass
class Facets:
    stars: dict[int, int]  # minimum stars -> products with at least that many
    groups: list[tuple[Category, int]]
    provinces: list[tuple[Province, int]]
    owner_types: dict[str, int]
    in_stock: int

    @property
    def group_counts(self) -> dict[int, int]:
        return {c.id: n for c, n in self.groups}

    @property
    def province_counts(self) -> dict[int, int]:
        return {p.id: n for p, n in self.provinces}


@dataclass
class Listing:
    filter: CatalogFilter
    items: list[Product]
    total: int
    facets: Facets | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_page))


def _order(stmt: Select, f: CatalogFilter, search) -> Select:
    sort = f.effective_sort
    if sort == "relevance" and search is not None:
        return stmt.order_by(search.c.rank, Product.id.desc())
    if sort == "price_asc":
        return stmt.order_by(Product.min_price, Product.id)
    if sort == "price_desc":
        return stmt.order_by(Product.min_price.desc(), Product.id.desc())
    return stmt.order_by(Product.created_at.desc(), Product.id.desc())


def _facet_rows(f: CatalogFilter, ref: Reference, today: date, search) -> list[tuple[str, str, int]]:
    """All facet counts in one statement, as (facet, key, count) rows. Each dimension is counted under the
    other filters but not its own, so choosing one province still shows the
    counts of the others."""

    def part(name: str, key, without: str, extra=()):
        base = _base(f.without(without), ref, today, search)
        if base is None:
            return None
        # Keys are cast to text so that one UNION can carry ints, strings and booleans.
        stmt = base.with_only_columns(
            literal(name).label("facet"), cast(key, String).label("k"), func.count().label("n")
        )
        for cond in extra:
            stmt = stmt.where(cond)
        # Group by the bare column so the covering index gives the groups in order.
        return stmt.group_by(key)

    parts = [
        part("stars", Product.cert_stars, "stars", [Product.cert_valid_until >= today]),
        part("group", Product.category_id, "group"),
        part("province", Product.province_id, "province"),
        part("owner", Product.owner_type, "owner_type"),
        part("stock", Product.in_stock, "in_stock"),
    ]
    parts = [p for p in parts if p is not None]
    return [tuple(row) for row in db.session.execute(union_all(*parts))] if parts else []


def _build_facets(rows: list[tuple[str, str, int]], ref: Reference) -> Facets:
    stars_exact: dict[int, int] = {}
    groups: dict[int, int] = {}
    provinces: dict[int, int] = {}
    owners: dict[str, int] = {}
    in_stock = 0
    for facet, key, n in rows:
        if facet == "stars":
            if key is not None:
                stars_exact[int(key)] = n
        elif facet == "group":
            top = ref.group_of(int(key))
            if top is not None:
                groups[top.id] = groups.get(top.id, 0) + n
        elif facet == "province":
            provinces[int(key)] = n
        elif facet == "owner":
            owners[str(key)] = n
        elif facet == "stock" and key in ("1", "true"):
            in_stock = n
    return Facets(
        stars={m: sum(n for s, n in stars_exact.items() if s >= m) for m in (5, 4, 3)},
        groups=[(c, groups[c.id]) for c in ref.groups if groups.get(c.id)],
        provinces=sorted(
            ((ref.province_by_id[pid], n) for pid, n in provinces.items() if pid in ref.province_by_id),
            key=lambda pn: (-pn[1], pn[0].position),
        ),
        owner_types={t: owners.get(t, 0) for t in OWNER_TYPES},
        in_stock=in_stock,
    )


def list_products(
    f: CatalogFilter, *, with_facets: bool = True, with_total: bool = True, today: date | None = None
) -> Listing:
    """One page of published products of approved producers matching `f`.

    The total and the facet counts are the costly part and do not change with
    the page or the sort, so they are cached per catalog version and filter."""
    ref = reference()
    today = today or today_vn()
    terms = f.terms
    if f.q and not terms:  # a query of only punctuation matches nothing
        return Listing(f, [], 0, None)
    search = _search_subquery(terms) if terms else None
    base = _base(f, ref, today, search)
    if base is None:
        return Listing(f, [], 0, None)
    filter_key = f"{today.isoformat()}:{f.without('page', 'sort', 'per_page')!r}"
    total = (
        cached_value(
            f"total:{filter_key}", lambda: db.session.scalar(select(func.count()).select_from(base.subquery()))
        )
        if with_total
        else None
    )
    stmt = _order(
        base.with_only_columns(Product)
        .join(Producer, Producer.id == Product.producer_id)
        .join(Province, Province.id == Product.province_id)
        .options(contains_eager(Product.producer), contains_eager(Product.province)),
        f,
        search,
    )
    items = list(db.session.scalars(stmt.limit(f.per_page).offset((f.page - 1) * f.per_page)).unique())
    facets = None
    if with_facets:
        facets = _build_facets(cached_value(f"facets:{filter_key}", lambda: _facet_rows(f, ref, today, search)), ref)
    return Listing(f, items, len(items) if total is None else total, facets)


# --- single rows -------------------------------------------------------------


def get_product(slug: str) -> Product | None:
    """A visible product with its producer, province, variants and images."""
    stmt = (
        select(Product)
        .join(Producer, Producer.id == Product.producer_id)
        .join(Province, Province.id == Product.province_id)
        .where(Product.slug == slug, *_visible())
        .options(
            contains_eager(Product.producer),
            contains_eager(Product.province),
            selectinload(Product.variants),
            selectinload(Product.images),
        )
    )
    return db.session.scalars(stmt).first()


def valid_certificate(product_id: int, today: date | None = None) -> Certificate | None:
    """The best verified, unexpired certificate of a product (highest stars, newest)."""
    today = today or today_vn()
    return db.session.scalars(
        select(Certificate)
        .where(Certificate.product_id == product_id, Certificate.state == "verified", Certificate.expires_on >= today)
        .options(selectinload(Certificate.issuing_province))
        .order_by(Certificate.stars.desc(), Certificate.decision_date.desc())
        .limit(1)
    ).first()


def get_producer(slug: str) -> Producer | None:
    return db.session.scalars(
        select(Producer)
        .join(Province, Province.id == Producer.province_id)
        .where(Producer.slug == slug, Producer.status == "approved")
        .options(contains_eager(Producer.province))
    ).first()


def producer_certificates(producer_id: int, today: date | None = None) -> list[Certificate]:
    """A producer's verified, unexpired certificates with their products."""
    today = today or today_vn()
    return list(
        db.session.scalars(
            select(Certificate)
            .join(Product, Product.id == Certificate.product_id)
            .where(
                Certificate.producer_id == producer_id,
                Certificate.state == "verified",
                Certificate.expires_on >= today,
                Product.listed.is_(True),
            )
            .options(contains_eager(Certificate.product))
            .order_by(Certificate.stars.desc(), Certificate.decision_date.desc())
        )
    )


def list_producers(
    page: int, per_page: int, province: str | None = None, owner_type: str | None = None
) -> tuple[list[tuple[Producer, int]], int]:
    """Approved producers with their count of visible products, by name."""
    ref = reference()
    conds = [Producer.status == "approved"]
    if province:
        prov = ref.province_by_slug.get(province)
        if prov is None:
            return [], 0
        conds.append(Producer.province_id == prov.id)
    if owner_type:
        conds.append(Producer.owner_type == owner_type)
    total = db.session.scalar(select(func.count(Producer.id)).where(*conds)) or 0
    counts = (
        select(Product.producer_id, func.count().label("n")).where(*_visible()).group_by(Product.producer_id).subquery()
    )
    rows = db.session.execute(
        select(Producer, func.coalesce(counts.c.n, 0))
        .join(Province, Province.id == Producer.province_id)
        .outerjoin(counts, counts.c.producer_id == Producer.id)
        .where(*conds)
        .options(contains_eager(Producer.province))
        .order_by(Producer.name, Producer.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [(p, n) for p, n in rows], total


def province_counts() -> list[tuple[Province, int]]:
    """Provinces that have visible products, with how many."""
    ref = reference()
    rows = cached_value(
        "province-counts",
        lambda: [
            tuple(r)
            for r in db.session.execute(
                select(Product.province_id, func.count()).where(*_visible()).group_by(Product.province_id)
            )
        ],
    )
    return sorted(
        ((ref.province_by_id[pid], n) for pid, n in rows if pid in ref.province_by_id),
        key=lambda pn: pn[0].position,
    )


def sitemap_entries() -> tuple[list[tuple[str, object]], list[tuple[str, object]]]:
    """(product slug, updated_at) and (producer slug, created_at) for every visible page."""
    products = db.session.execute(
        select(Product.slug, Product.updated_at).where(*_visible()).order_by(Product.id)
    ).all()
    producers = db.session.execute(
        select(Producer.slug, Producer.created_at).where(Producer.status == "approved").order_by(Producer.id)
    ).all()
    return products, producers
