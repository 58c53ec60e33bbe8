"""How to count facets for a page nobody asked for before (not a test).

`python bench/facets.py [--backends sqlite,postgresql] [--products 100000]`

Two approaches, measured in the same process on the same catalog (seeded by
bench/catalog.py's folders), for a set of filter combinations and searches:

- SQL: what the shop did until issue 9 — the total in one statement and every
  facet count in one UNION ALL statement grouped on covering indexes, with
  FTS5 (SQLite) or a GIN-indexed tsvector (PostgreSQL) for the search, ranked by
  bm25 / ts_rank; kept here only to be measured;
- bitmaps: shop.catalog.index — pyroaring bitmaps per facet value and per
  word, in each process, following the database by max(updated_at).

Both answer the same question (total, facet counts, the first 24 ids); the
script checks that the totals agree and prints the time per request, once
warm (median and p95 of 30 repetitions)."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import ROOT, Backend, RedisServer, app_env, seed_catalog

QUERIES = [
    {},
    {"stars": "4", "in_stock": "1"},
    {"stars": "3", "province": "ha-noi", "in_stock": "1", "sort": "price_asc"},
    {"group": "thuc-pham", "owner_type": "cooperative"},
    {"q": "mat ong"},
    {"q": "tra huu co", "stars": "4"},
    {"q": "banh", "province": "bac-ninh", "sort": "newest"},
]

RUNNER = r"""
import json, statistics, sys, time
from sqlalchemy import String, and_, cast, func, literal, literal_column, select, text, union_all
from shop import create_app
from shop.catalog.filters import parse_filter
from shop.catalog.models import Product
from shop.catalog.index import catalog_index
from shop.catalog.queries import _index_query
from shop.catalog.reference import reference
from shop.extensions import db
from shop.formatting import today_vn

QUERIES = json.loads(sys.argv[1])
app = create_app(VALUE_CACHE_SECONDS=300)


def sql_search(terms):
    if db.engine.dialect.name == "postgresql":
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"), " & ".join(f"{t}:*" for t in terms))
        vector = literal_column("product.search_vector")
        return (select(Product.id.label("product_id"), (-func.ts_rank(vector, tsq)).label("rank"))
                .where(vector.op("@@")(tsq)).cte("search").prefix_with("MATERIALIZED"))
    match = text("product_fts MATCH :m").bindparams(m=" ".join(f'"{t}"*' for t in terms))
    rank = literal_column("bm25(product_fts, 10.0, 1.0)").label("rank")
    return (select(literal_column("rowid").label("product_id"), rank).select_from(text("product_fts")).where(match)
            .cte("search").prefix_with("MATERIALIZED"))


def sql_conditions(f, ref, today):
    conds = [Product.listed.is_(True)]
    if f.stars:
        conds += [Product.cert_stars >= f.stars, Product.cert_valid_until >= today]
    if f.group:
        conds.append(Product.category_id.in_(ref.descendant_ids(ref.by_slug[f.group])))
    if f.province:
        conds.append(Product.province_id == ref.province_by_slug[f.province].id)
    if f.owner_type:
        conds.append(Product.owner_type == f.owner_type)
    if f.in_stock:
        conds.append(Product.in_stock.is_(True))
    return conds


def sql_base(f, ref, today, search):
    stmt = select(Product.id)
    if search is not None:
        stmt = stmt.join(search, search.c.product_id == Product.id)
    return stmt.where(and_(*sql_conditions(f, ref, today)))


def sql_listing(f):
    ref, today = reference(), today_vn()
    search = sql_search(f.terms) if f.terms else None
    base = sql_base(f, ref, today, search)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    if search is not None and f.effective_sort == "relevance":
        order = [search.c.rank, Product.id.desc()]
    elif f.sort == "price_asc":
        order = [Product.min_price, Product.id]
    else:
        order = [Product.created_at.desc(), Product.id.desc()]
    ids = list(db.session.scalars(base.order_by(*order).limit(24)))

    def part(name, key, without, extra=()):
        stmt = sql_base(f.without(without), ref, today, search).with_only_columns(
            literal(name).label("facet"), cast(key, String).label("k"), func.count().label("n"))
        for cond in extra:
            stmt = stmt.where(cond)
        return stmt.group_by(key)

    parts = [
        part("stars", Product.cert_stars, "stars", [Product.cert_valid_until >= today]),
        part("group", Product.category_id, "group"),
        part("province", Product.province_id, "province"),
        part("owner", Product.owner_type, "owner_type"),
        part("stock", Product.in_stock, "in_stock"),
    ]
    rows = db.session.execute(union_all(*parts)).all()
    return total, ids, len(rows)


def index_listing(f):
    q = _index_query(f, reference())
    page, facets = catalog_index().query(q, today_vn(), f.effective_sort, 0, 24, True)
    return page.total, page.ids, len(facets)


def timed(fn, f, n=30):
    fn(f)  # warm
    times = []
    for _ in range(n):
        started = time.perf_counter()
        out = fn(f)
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    times.sort()
    return out, statistics.median(times), times[int(len(times) * 0.95) - 1]


out = []
with app.test_request_context("/san-pham"):
    from flask import g
    for args in QUERIES:
        f = parse_filter(args, strict=False, per_page=24, max_per_page=24)
        (sql_total, _, _), sql_p50, sql_p95 = timed(sql_listing, f)
        g.pop("catalog_index_synced", None)
        (idx_total, _, _), idx_p50, idx_p95 = timed(index_listing, f)
        out.append({"query": args, "sql": [sql_p50, sql_p95, sql_total], "bitmaps": [idx_p50, idx_p95, idx_total]})
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    redis = RedisServer().start()
    failed = False
    try:
        for backend in args.backends.split(","):
            folder = Path(args.workdir) / f"{backend}-{args.products}"
            with Backend(backend, folder) as database_url:
                env = app_env(folder / "instance", database_url, redis.url)
                seed_catalog(env, args.products)
                result = (
                    subprocess.run(
                        [sys.executable, "-c", RUNNER, json.dumps(QUERIES)],
                        cwd=ROOT,
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                )
            print(f"\n{backend}, {args.products:,} products: one listing with its total and facet counts, warm")
            print("| filter | SQL p50 ms | SQL p95 ms | bitmaps p50 ms | bitmaps p95 ms | total (both) |")
            print("|---|---:|---:|---:|---:|---:|")
            for row in json.loads(result):
                sql, bm = row["sql"], row["bitmaps"]
                name = "&".join(f"{k}={v}" for k, v in row["query"].items()) or "(none)"
                same = sql[2] == bm[2]
                failed |= not same
                print(
                    f"| {name} | {sql[0]:.1f} | {sql[1]:.1f} | {bm[0]:.1f} | {bm[1]:.1f} | "
                    f"{bm[2]:,}{'' if same else f' vs {sql[2]:,}'} |"
                )
    finally:
        redis.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
