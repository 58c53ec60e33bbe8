"""The in-memory catalog index answers exactly what a plain scan of the rows answers."""

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shop.catalog.filters import CatalogFilter
from shop.catalog.models import Category, Product, Variant
from shop.catalog.queries import list_products
from shop.catalog.reference import reference
from shop.catalog.services import commit_catalog_change
from shop.extensions import db
from shop.formatting import today_vn
from shop.places.models import Province
from shop.producers.models import OWNER_TYPES
from shop.text import words
from tests.support.factories import make_producer, make_product

NAMES = ["Mật ong", "Bánh đa", "Nước mắm", "Trà", "Gạo", "Kẹo dừa", "Miến", "Chả cá"]
QUALIFIERS = ["rừng", "hoa nhãn", "truyền thống", "hữu cơ", "đặc sản", "Phú Quốc", "loại 1"]
PROVINCES = ["Bắc Ninh", "Hà Nội", "Lào Cai", "An Giang", "Vĩnh Long"]
SETS = ["che-bien-tu-gao-ngu-coc", "mat-ong-mat-khac-nong-san-khac", "tuong-nuoc-mam-gia-vi-long", "ruou-trang"]
SETS += ["che-tuoi-che-che-bien"]


@pytest.fixture
def catalog(app):
    rng = random.Random(7)
    producers = [
        make_producer(f"Nhà sản xuất {i}", owner_type=OWNER_TYPES[i % 4], province_name=PROVINCES[i % 5])
        for i in range(6)
    ]
    for i in range(120):
        make_product(
            f"{rng.choice(NAMES)} {rng.choice(QUALIFIERS)} {i}",
            producer=rng.choice(producers),
            prices=(rng.choice([35_000, 50_000, 80_000, 120_000, 250_000, 80_000]),),
            stock=rng.choice([0, 0, 3, 12]),
            stars=rng.choice([None, 3, 3, 4, 5]),
            category_slug=rng.choice(SETS),
            province_name=rng.choice(PROVINCES),
            status=rng.choice(["published"] * 9 + ["draft"]),
            description=rng.choice(["Sản xuất tại làng nghề.", "Đóng hộp quà tặng.", "Mật ong nguyên chất."]),
            created_days_ago=rng.randint(0, 60),
        )
    db.session.commit()
    # Sales as the periodic recount leaves them (shop.catalog.sold), ties included.
    for product in db.session.scalars(select(Product)):
        product.sold_count = rng.choice([0, 0, 0, 1, 2, 40])
    db.session.commit()
    return rng


def matches_text(p: Product, terms: list[str]) -> bool:
    """Search as specified: every word starts a word of the name, or every word is a
    word of the name or text, the last one possibly unfinished (two letters or more)."""
    name, text = words(p.search_name), words(p.search_name) + words(p.search_body)
    if all(any(w.startswith(t) for w in name) for t in terms):
        return True
    last = len(terms) - 1
    return all(
        any(w.startswith(t) for w in text) if i == last and len(t) >= 2 else t in text for i, t in enumerate(terms)
    )


def in_categories(p: Product, terms: list[str]) -> bool:
    ref = reference()
    names = set()
    for c in ref.trail(p.category_id):
        names.update(words(f"{c.name_vi} {c.name_en}"))
    last = len(terms) - 1
    return all(t in names or (i == last and any(w.startswith(t) for w in names)) for i, t in enumerate(terms))


def scan(f: CatalogFilter) -> list[Product]:
    """The rows matching `f`, by reading every one of them."""
    ref, today = reference(), today_vn()
    out = []
    listed = list(db.session.scalars(select(Product).where(Product.listed.is_(True))))
    text_match = matches_text
    if f.terms and not any(matches_text(p, f.terms) for p in listed):
        text_match = in_categories  # only when nothing matches by name or text
    for p in listed:
        if f.stars and not (p.cert_stars and p.cert_stars >= f.stars and p.cert_valid_until >= today):
            continue
        if f.group and p.category_id not in ref.descendant_ids(ref.by_slug[f.group]):
            continue
        if f.province and p.province_id != ref.province_by_slug[f.province].id:
            continue
        if f.owner_type and p.owner_type != f.owner_type:
            continue
        if f.price_min is not None and p.min_price < f.price_min:
            continue
        if f.price_max is not None and p.min_price > f.price_max:
            continue
        if f.in_stock and not p.in_stock:
            continue
        if f.terms and not text_match(p, f.terms):
            continue
        out.append(p)
    return out


def random_filter(rng) -> CatalogFilter:
    ref = reference()
    return CatalogFilter(
        q=rng.choice(["", "", "mat ong", "banh", "tra huu", "nuoc mam phu", "m", "khong co gi"]),
        stars=rng.choice([None, None, 3, 4, 5]),
        group=rng.choice([None, None, "thuc-pham", "do-uong", ref.by_slug["ruou-trang"].slug]),
        province=rng.choice([None, None, "bac-ninh", "ha-noi", "an-giang"]),
        owner_type=rng.choice([None, None, *OWNER_TYPES]),
        price_min=rng.choice([None, None, 50_000]),
        price_max=rng.choice([None, None, 120_000]),
        in_stock=rng.choice([False, True]),
        sort=rng.choice(["relevance", "newest", "best_selling", "price_asc", "price_desc"]),
        page=rng.choice([1, 1, 2]),
        per_page=7,
    )


def expected_order(rows: list[Product], f: CatalogFilter) -> list[int] | None:
    """The full order for sorts that do not depend on relevance (None: relevance)."""
    sort = f.effective_sort
    if sort == "price_asc":
        rows = sorted(rows, key=lambda p: (p.min_price, p.id))
    elif sort == "price_desc":
        rows = sorted(rows, key=lambda p: (-p.min_price, -p.id))
    elif sort == "best_selling":
        newest = sorted(rows, key=lambda p: (p.created_at, p.id), reverse=True)
        rows = sorted(newest, key=lambda p: -p.sold_count)  # stable: ties stay newest first
    elif sort == "newest":
        rows = sorted(rows, key=lambda p: (p.created_at, p.id), reverse=True)
    else:
        return None
    return [p.id for p in rows]


def test_random_filters_sorts_and_searches_match_a_scan(catalog):
    for _ in range(150):
        f = random_filter(catalog)
        rows = scan(f)
        listing = list_products(f)
        assert listing.total == len(rows), f
        got = [p.id for p in listing.items]
        start = (f.page - 1) * f.per_page
        order = expected_order(rows, f)
        if order is None:
            assert set(got) <= {p.id for p in rows} and len(got) == len(rows[start : start + f.per_page]), f
        else:
            assert got == order[start : start + f.per_page], f
        counts = listing.facets.province_counts
        any_province = scan(f.without("province"))
        for prov in db.session.scalars(select(Province)):
            n = sum(1 for p in any_province if p.province_id == prov.id)
            assert counts.get(prov.id, 0) == n, (f, prov.name)
        assert listing.facets.in_stock == sum(1 for p in scan(f.without("in_stock")) if p.in_stock), f
        for m in (3, 4, 5):
            assert listing.facets.stars[m] == len(scan(replace(f, stars=m))), (f, m)
        groups = listing.facets.group_counts
        any_group = scan(f.without("group"))
        for group in reference().groups:
            n = sum(1 for p in any_group if reference().group_of(p.category_id).id == group.id)
            assert groups.get(group.id, 0) == n, (f, group.slug)


def test_relevance_puts_whole_words_of_the_name_first(app):
    shop = make_producer("HTX Ong Mật")
    pollen = make_product("Phấn hoa ong rừng", producer=shop, description="Phấn hoa do ong mật lấy từ rừng.")
    honey = make_product("Mật ong hoa rừng", producer=shop)
    inner = make_product("Quà tặng mật ong rừng", producer=shop)
    apart = make_product("Rượu ong đất pha mật", producer=shop)
    db.session.commit()

    ids = [p.id for p in list_products(CatalogFilter(q="mat ong")).items]
    # The phrase at the start of the name, the phrase inside it, both words apart, then the description.
    assert ids == [honey.id, inner.id, apart.id, pollen.id]
    # While typing, a word start in the name comes before a match in the description.
    typing = [p.id for p in list_products(CatalogFilter(q="ruou on")).items]
    assert typing[0] == apart.id


def test_changes_made_elsewhere_reach_the_index_on_the_next_request(catalog):
    f = CatalogFilter(in_stock=True, per_page=200)
    before = list_products(f).total
    some = db.session.scalars(select(Product).where(Product.listed.is_(True), Product.in_stock.is_(True))).first()
    # Another process (a worker, another web node) sells it out and commits.
    db.session.execute(update(Variant).where(Variant.product_id == some.id).values(stock=0))
    commit_catalog_change([some.id])
    from flask import g

    g.pop("catalog_index_synced", None)  # the next request

    assert list_products(f).total == before - 1
    moved = db.session.get(Product, some.id)
    moved.category = db.session.scalars(select(Category).where(Category.slug == "ruou-trang")).one()
    commit_catalog_change([moved.id])
    g.pop("catalog_index_synced", None)
    assert some.id in [p.id for p in list_products(CatalogFilter(group="do-uong", per_page=200)).items]


def test_a_product_created_with_an_older_date_keeps_the_newest_order(catalog):
    list_products(CatalogFilter())  # the index is loaded
    old = make_product("Trà cổ thụ", created_days_ago=400)
    db.session.commit()
    from flask import g

    g.pop("catalog_index_synced", None)
    rows = scan(CatalogFilter(sort="newest"))
    listing = list_products(CatalogFilter(sort="newest", per_page=500))
    assert [p.id for p in listing.items] == expected_order(rows, CatalogFilter(sort="newest"))
    assert listing.items[-1].id == old.id
    assert today_vn() - timedelta(days=399) > old.created_at.date()


def test_a_worker_builds_its_index_before_its_first_request(app):
    from shop.catalog.index import build_before_serving

    make_product("Mật ong hoa nhãn", stock=4)
    db.session.commit()
    app.extensions.pop("catalog_index", None)
    build_before_serving(app)
    index = app.extensions["catalog_index"]
    assert index.loaded and len(index.ids) == 1

    app.extensions.pop("catalog_index", None)
    db.session.execute(db.text("ALTER TABLE product RENAME TO product_away"))  # not migrated yet, say
    db.session.commit()
    try:
        build_before_serving(app)  # logs, never raises: the worker still starts
    finally:
        db.session.rollback()
        db.session.execute(db.text("ALTER TABLE product_away RENAME TO product"))
        db.session.commit()
    assert not app.extensions["catalog_index"].loaded, "the first request loads it"


def test_the_first_change_after_a_bulk_write_does_not_reread_the_catalog(catalog, app, monkeypatch):
    """A seed, an import or a migration stamps every row alike. The index re-reads what
    changed since the newest stamp it has seen (less a margin for transactions that
    committed late); from that stamp, the first change after a load re-read every row
    under the index's lock (~70 s at 1,000,000 products, every request waiting)."""
    from flask import g

    from shop.catalog.index import CatalogIndex
    from shop.formatting import utcnow

    db.session.execute(update(Product).values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    app.extensions.pop("catalog_index", None)
    g.pop("catalog_index_synced", None)
    f = CatalogFilter(in_stock=True, per_page=200)
    before = list_products(f).total  # loaded: every row stamped an hour ago

    applied = []
    original = CatalogIndex._set

    def counted(self, rank, row):
        applied.append(row.id)
        original(self, rank, row)

    monkeypatch.setattr(CatalogIndex, "_set", counted)
    some = db.session.scalars(select(Product).where(Product.listed.is_(True), Product.in_stock.is_(True))).first()
    db.session.execute(update(Variant).where(Variant.product_id == some.id).values(stock=0))
    commit_catalog_change([some.id])
    g.pop("catalog_index_synced", None)

    assert list_products(f).total == before - 1
    assert applied == [some.id]
