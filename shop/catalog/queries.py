"""Reads for the storefront and the public API (no writes here).

Each page stays within a handful of SQL statements whatever its size: listing
rows come with their producer and province in one joined SELECT, the total in a
second, and all facet counts in a single UNION ALL statement.
"""

import re
from dataclasses import KW_ONLY, dataclass, replace
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from shop.cache import add_tags
from shop.catalog.filters import CatalogFilter
from shop.catalog.index import IndexQuery, catalog_index
from shop.catalog.models import Product, ProductImage, Variant
from shop.catalog.reference import CategoryInfo, ProvinceInfo, Reference, reference
from shop.catalog.sold import SOLD_LISTINGS_TAG
from shop.extensions import db
from shop.formatting import today_vn
from shop.paging import page_count
from shop.places.models import Province
from shop.producers.models import OWNER_TYPES, Certificate, Producer
from shop.settings import services as settings
from shop.text import fold

# --- listing ----------------------------------------------------------------


def _visible() -> list:
    return [Product.listed.is_(True)]


@dataclass
class Facets:
    stars: dict[int, int]  # minimum stars -> products with at least that many
    groups: list[tuple[CategoryInfo, int]]
    provinces: list[tuple[ProvinceInfo, int]]
    owner_types: dict[str, int]
    in_stock: int

    @property
    def group_counts(self) -> dict[int, int]:
        return {c.id: n for c, n in self.groups}

    @property
    def province_counts(self) -> dict[int, int]:
        return {p.id: n for p, n in self.provinces}


@dataclass(frozen=True, slots=True)
class Named:
    id: int
    slug: str
    name: str


@dataclass(slots=True)
class ProductCard:
    """What a product card, a listing row of the API and the promotion pricing
    read of a product: its listing columns with its producer's and province's
    names, loaded as plain rows (building ORM objects cost more than the page)."""

    id: int
    slug: str
    name: str
    name_en: str
    producer_id: int
    category_id: int
    province_id: int
    owner_type: str
    listed: bool
    min_price: int
    in_stock: bool
    cert_stars: int | None
    cert_valid_until: date | None
    cover_image: str | None
    created_at: datetime
    updated_at: datetime
    rating_sum: int
    rating_count: int
    sold_count: int
    _: KW_ONLY  # product_cards fills the columns above in order, these by name
    producer: Named
    province: Named

    stars_on = Product.stars_on
    rating_average = Product.rating_average
    stars = Product.stars
    display_name = Product.display_name


_CARD_COLUMNS = (
    Product.id,
    Product.slug,
    Product.name,
    Product.name_en,
    Product.producer_id,
    Product.category_id,
    Product.province_id,
    Product.owner_type,
    Product.listed,
    Product.min_price,
    Product.in_stock,
    Product.cert_stars,
    Product.cert_valid_until,
    Product.cover_image,
    Product.created_at,
    Product.updated_at,
    Product.rating_sum,
    Product.rating_count,
    Product.sold_count,
    Producer.slug,
    Producer.name,
    Province.slug,
    Province.name,
)


@cache
def _card_statement() -> Select:
    """Built once: building it cost more than running it (24 cards on SQLite)."""
    return (
        select(*_CARD_COLUMNS)
        .join(Producer, Producer.id == Product.producer_id)
        .join(Province, Province.id == Product.province_id)
        .where(Product.id.in_(bindparam("ids", expanding=True)), Product.listed.is_(True))
    )


def product_cards(ids: list[int]) -> list[ProductCard]:
    """Listed products by id, in the order given."""
    rows = db.session.execute(_card_statement(), {"ids": ids}).all()
    by_id = {}
    for r in rows:
        *product, producer_slug, producer_name, province_slug, province_name = r
        by_id[r.id] = ProductCard(
            *product,
            producer=Named(r.producer_id, producer_slug, producer_name),
            province=Named(r.province_id, province_slug, province_name),
        )
    return [by_id[i] for i in ids if i in by_id]


@dataclass
class Listing:
    filter: CatalogFilter
    items: list[ProductCard]
    total: int
    facets: Facets | None
    # Set when the query as typed found nothing and these are the results for a
    # query one typing mistake away (shown as "Có phải bạn muốn tìm …?").
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        return page_count(self.total, self.filter.per_page)


def _build_facets(rows: list[tuple[str, str, int]], ref: Reference) -> Facets:
    stars_exact: dict[int, int] = {}
    groups: dict[int, int] = {}
    provinces: dict[int, int] = {}
    owners: dict[str, int] = {}
    in_stock = 0
    for facet, key, n in rows:
        if facet == "stars":
            stars_exact[int(key)] = n
        elif facet == "group":
            top = ref.group_of(int(key))
            if top is not None:
                groups[top.id] = groups.get(top.id, 0) + n
        elif facet == "province":
            provinces[int(key)] = n
        elif facet == "owner":
            owners[str(key)] = n
        elif facet == "stock":
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


def _index_query(f: CatalogFilter, ref: Reference) -> IndexQuery | None:
    """The filter in the index's terms; None when a slug names nothing (no results)."""
    categories = province_id = producer_id = None
    if f.group:
        cat = ref.by_slug.get(f.group)
        if cat is None:
            return None
        categories = tuple(ref.descendant_ids(cat))
    if f.province:
        prov = ref.province_by_slug.get(f.province)
        if prov is None:
            return None
        province_id = prov.id
    if f.producer:
        producer_id = db.session.scalar(select(Producer.id).where(Producer.slug == f.producer))
        if producer_id is None:
            return None
    return IndexQuery(
        terms=tuple(f.terms),
        stars=f.stars,
        categories=categories,
        province_id=province_id,
        owner_type=f.owner_type,
        producer_id=producer_id,
        price_min=f.price_min,
        price_max=f.price_max,
        in_stock=f.in_stock,
    )


def listing_tags(f: CatalogFilter, ref: Reference) -> list[str]:
    """What a listing page shows beyond its cards: counts over the products of its
    group and province. A product whose listing columns change purges the tags of
    its own group and province and the "all" ones, which covers every listing that
    counts it (see shop.catalog.changes)."""
    group = ref.group_of(ref.by_slug[f.group].id) if f.group and f.group in ref.by_slug else None
    province = ref.province_by_slug.get(f.province) if f.province else None
    return [
        "lists",
        f"lg:{group.id}" if group else "lg:all",
        f"lp:{province.id}" if province else "lp:all",
    ]


def card_tags(products: list[ProductCard]) -> list[str]:
    return [f"c:{p.id}" for p in products] + [f"pr:{p.producer_id}" for p in products]


def list_products(
    f: CatalogFilter,
    *,
    with_facets: bool = True,
    with_total: bool = True,
    today: date | None = None,
    uncertified: bool = False,
) -> Listing:
    """One page of published products of approved producers matching `f`, with
    the total and the facet counts (see shop.catalog.index). Only products with a
    certificate valid `today`; `uncertified`: only those without one (the
    "Sản phẩm chưa có sao" section)."""
    ref = reference()
    today = today or today_vn()
    add_tags(*listing_tags(f, ref))
    if f.effective_sort == "best_selling":
        add_tags(SOLD_LISTINGS_TAG)  # purged by each recount that moved a count
    if f.q and not f.terms:  # a query of only punctuation matches nothing
        return Listing(f, [], 0, None)
    q = _index_query(f, ref)
    if q is None:
        return Listing(f, [], 0, None)
    q = replace(q, uncertified=uncertified)
    index = catalog_index()
    offset = (f.page - 1) * f.per_page
    page, facet_rows = index.query(q, today, f.effective_sort, offset, f.per_page, with_facets, ref)
    suggestion = None
    if page.total == 0 and q.terms:
        corrected = index.correct(q.terms)
        if corrected is not None:
            q = replace(q, terms=corrected)
            page, facet_rows = index.query(q, today, f.effective_sort, offset, f.per_page, with_facets, ref)
    items = product_cards(page.ids) if page.ids else []
    if items and q.terms != tuple(f.terms):
        suggestion = _spelled(q.terms, items[0])
    add_tags(*card_tags(items))
    facets = _build_facets(facet_rows, ref) if facet_rows is not None else None
    return Listing(f, items, page.total if with_total else len(items), facets, suggestion)


def _spelled(terms: tuple[str, ...], product: "ProductCard") -> str:
    """The corrected query written as the best result spells its words (with tone
    marks), falling back to the folded word."""
    spelled: dict[str, str] = {}
    for original in re.findall(r"\w+", f"{product.name} {product.name_en}".lower()):
        spelled.setdefault(fold(original), original)
    return " ".join(spelled.get(t, t) for t in terms)


# --- single rows -------------------------------------------------------------


@dataclass(frozen=True)
class _ProductStatements:
    product: Select
    variants: Select
    images: Select
    valid_certificate: Select


@cache
def _statements() -> _ProductStatements:
    """Built once (on first use: building them configures the mappers): a product
    page's statements cost more to build than to run. The variants and images are
    read by two plain SELECTs (selectinload's machinery cost 1.9 ms of CPU a page,
    the queries 0.2 ms)."""
    return _ProductStatements(
        product=select(Product)
        .join(Producer, Producer.id == Product.producer_id)
        .join(Province, Province.id == Product.province_id)
        .where(Product.slug == bindparam("slug"), *_visible())
        .options(contains_eager(Product.producer), contains_eager(Product.province)),
        variants=select(Variant).where(Variant.product_id == bindparam("id")).order_by(Variant.position, Variant.id),
        images=select(ProductImage)
        .where(ProductImage.product_id == bindparam("id"))
        .order_by(ProductImage.position, ProductImage.id),
        valid_certificate=select(Certificate)
        .outerjoin(Province, Province.id == Certificate.issuing_province_id)
        .where(
            Certificate.product_id == bindparam("id"),
            Certificate.state == "verified",
            Certificate.expires_on >= bindparam("today"),
        )
        .options(contains_eager(Certificate.issuing_province))
        .order_by(Certificate.stars.desc(), Certificate.decision_date.desc())
        .limit(1),
    )


def get_product(slug: str) -> Product | None:
    """A visible product with its producer, province, variants and images."""
    product = db.session.scalars(_statements().product, {"slug": slug}).first()
    if product is not None and product.stars is None and not unstarred_section_on():
        product = None  # its certificate lapsed at midnight (`listed` follows within the hour)
    if product is None:
        add_tags(f"s:{slug}")  # a 404 until a product with this slug is listed
        return None
    add_tags(f"p:{product.id}", f"pr:{product.producer_id}")
    if "variants" not in product.__dict__:  # not already loaded by this session
        statements = _statements()
        set_committed_value(product, "variants", list(db.session.scalars(statements.variants, {"id": product.id})))
        set_committed_value(product, "images", list(db.session.scalars(statements.images, {"id": product.id})))
    return product


def unstarred_section_on() -> bool:
    """Whether products without a valid certificate are sold in their own section."""
    return settings.get_int("unstarred_section") == 1


def valid_certificate(product_id: int, today: date | None = None) -> Certificate | None:
    """The best verified, unexpired certificate of a product (highest stars, newest)."""
    return db.session.scalars(_statements().valid_certificate, {"id": product_id, "today": today or today_vn()}).first()


def get_producer(slug: str) -> Producer | None:
    producer = db.session.scalars(
        select(Producer)
        .join(Province, Province.id == Producer.province_id)
        .where(Producer.slug == slug, Producer.status == "approved")
        .options(contains_eager(Producer.province))
    ).first()
    add_tags(f"pr:{producer.id}" if producer else "producers")
    return producer


def producer_certificates(producer_id: int, today: date | None = None) -> list[Certificate]:
    """A producer's verified, unexpired certificates with their products."""
    today = today or today_vn()
    certificates = list(
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
    add_tags(*(f"p:{c.product_id}" for c in certificates))
    return certificates


def list_producers(
    page: int, per_page: int, province: str | None = None, owner_type: str | None = None
) -> tuple[list[tuple[Producer, int]], int]:
    """Approved producers with their count of visible products, by name."""
    add_tags("producers", "lg:all")
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


def province_counts() -> list[tuple[ProvinceInfo, int]]:
    """Provinces that have visible products, with how many."""
    ref = reference()
    add_tags("lp:all")
    counts = catalog_index().counts_by("province", today_vn())
    return sorted(
        ((ref.province_by_id[pid], n) for pid, n in counts.items() if pid in ref.province_by_id),
        key=lambda pn: pn[0].position,
    )


def sitemap_entries() -> tuple[list[tuple[str, datetime]], list[tuple[str, datetime]]]:
    """(product slug, updated_at) and (producer slug, created_at) for every visible page."""
    add_tags("lg:all", "producers")
    products = db.session.execute(
        select(Product.slug, Product.updated_at).where(*_visible()).order_by(Product.id)
    ).tuples()
    producers = db.session.execute(
        select(Producer.slug, Producer.created_at).where(Producer.status == "approved").order_by(Producer.id)
    ).tuples()
    return list(products), list(producers)
