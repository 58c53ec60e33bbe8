"""Catalog benchmark (not a test): `make bench` or `python bench/catalog.py`.

For each database (SQLite, PostgreSQL) and catalog size (`--products`, default
10,000, 100,000 and 1,000,000 synthetic products from `seed-bulk`), the app is
served the production way — gunicorn with 2 workers, the page cache on a real
redis-server — and loaded with wrk (8 connections). A hello-world Flask app
under the same gunicorn is measured right before each page as the baseline;
every row prints its throughput as a ratio of it.

Modes:
- anonymous: no cookie at all;
- with a cart: the session cookie of a visitor who put something in the cart
  (and the readable ocop_p marker), as a shopper about to pay sends it;
- first view: every request a URL nobody asked for before (a new filter
  combination, search or page: bench/first_view.lua), so nothing comes from
  the page cache;
- during stock sync: anonymous, while a producer sets 5 SKUs' stock through the
  API every second (each change purges that product's page; a SKU selling out or
  coming back also purges the listings that count it).

Targets (issue 9): every page >= 40% of hello-world and p90 < 50 ms for
anonymous and cart-holding shoppers and during stock sync; first views >= 10%
and p95 < 50 ms at 100,000 products."""

import argparse
import random
import sys
import time
from pathlib import Path

import requests

from common import (
    APP_PRELUDE,
    ROOT,
    Backend,
    Gunicorn,
    RedisServer,
    Ticker,
    app_env,
    flask,
    need_wrk,
    python,
    seed_catalog,
    table,
    warm,
    wrk,
)

PAGES = {
    "home": "/",
    "listing": "/san-pham",
    "filtered": "/san-pham?stars=4&in_stock=1",
    "search": "/san-pham?q=mat+ong",
    "product": "/san-pham/{slug}",
    "api-list": "/api/v1/products?per_page=100",
}
MODES = ("anonymous", "with a cart", "first view", "during stock sync")
FIRST_VIEWS = {"listing": "listing", "filtered": "filtered", "search": "search", "product": "product"}


def sample(env: dict) -> dict:
    """A product on sale and in stock, a variant of it with stock (the cart-holder's),
    a producer with its SKUs."""
    code = APP_PRELUDE + (
        "import json\n"
        "p = db.session.scalars(select(Product).where(*ON_SALE, Product.in_stock.is_(True))"
        ".order_by(Product.id.desc()).offset(500).limit(1)).one()\n"
        "producer = db.session.get(Producer, p.producer_id)\n"
        "skus = list(db.session.scalars(select(Variant.sku).join(Product).where(Product.producer_id == producer.id)"
        ".limit(500)))\n"
        "slugs = list(db.session.scalars(select(Product.slug).where(*ON_SALE).limit(2000)))\n"
        "variant = next(v for v in p.variants if v.stock > 0)\n"
        "print(json.dumps({'slug': p.slug, 'variant': variant.id, 'producer': producer.slug, 'skus': skus,"
        " 'slugs': slugs}))"
    )
    import json

    return json.loads(python(code, env))


def cart_cookie(base: str, variant_id: int) -> str:
    """The cookies of a shopper with one thing in the cart (the add-to-cart form, then the cart page)."""
    s = requests.Session()
    added = s.post(base + "/gio-hang/them", data={"variant_id": variant_id, "quantity": 1}, headers={"Origin": base})
    cart = s.get(base + "/gio-hang")  # reads the "added" message
    assert "session" in s.cookies and s.cookies.get("ocop_p") == "1", (
        added.status_code,
        added.url,
        cart.text[cart.text.find("<main") :][:600],
    )
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def stock_sync(base: str, token: str, skus: list[str]) -> Ticker:
    """A producer's sync every second: 5 SKUs set through the bulk endpoint (the
    API allows a token 120 requests a minute), now and then one sold out."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    rng = random.Random(1)

    def sync():
        items = [{"sku": sku, "quantity": rng.choice([0, *range(1, 500)])} for sku in rng.sample(skus, 5)]
        r = session.post(f"{base}/api/v1/producer/stock", json={"items": items}, timeout=10)
        r.raise_for_status()

    return Ticker(sync, per_second=1)


def measure(backend: str, products: int, env: dict, args) -> list[dict]:
    facts = sample(env)
    token = flask(["producer-token", facts["producer"], "--name", "bench"], env).strip().split()[-1]
    urls = {name: path.format(slug=facts["slug"]) for name, path in PAGES.items()}
    hello = Gunicorn("bench.hello:app", env)
    started = time.monotonic()
    app = Gunicorn("wsgi:app", env)  # returns once both workers have built their index
    print(f"  index built in both workers within {time.monotonic() - started:.0f} s", flush=True)
    rows = []

    def record(mode: str, page: str, result: dict, baseline: dict, extra: str = "") -> None:
        ratio = result["rps"] / baseline["rps"]
        row = {
            "backend": backend,
            "products": f"{products:,}",
            "mode": mode,
            "page": page,
            "rps": f"{result['rps']:.0f}",
            "p50": f"{result['p50']:.1f}",
            "p90": f"{result['p90']:.1f}",
            "p95": f"{result['p95']:.1f}",
            "hello": f"{baseline['rps']:.0f}",
            "ratio": f"{ratio:.0%}",
            "errors": result["errors"] + result["non2xx"],
            "note": extra,
        }
        rows.append(row)
        print(
            f"  {backend:10s} {products:>9,} {mode:16s} {page:9s} {result['rps']:7.0f} req/s"
            f"  p50 {result['p50']:6.1f}  p90 {result['p90']:6.1f}  p95 {result['p95']:6.1f} ms"
            f"  hello {baseline['rps']:6.0f}  {ratio:5.0%}  errors {row['errors']} {extra}",
            flush=True,
        )

    try:
        warm(app.url("/san-pham?warm=1"), times=6)
        cookie = cart_cookie(app.url(), facts["variant"])
        for url in urls.values():
            warm(app.url(url))
        for mode, headers in (("anonymous", ()), ("with a cart", (f"Cookie: {cookie}",))):
            if mode not in args.modes:
                continue
            for name, url in urls.items():
                baseline = wrk(hello.url("/"), args.seconds, args.connections)
                result = wrk(app.url(url), args.seconds, args.connections, headers=headers)
                record(mode, name, result, baseline)
        for name, kind in FIRST_VIEWS.items() if "first view" in args.modes else ():
            baseline = wrk(hello.url("/"), args.seconds, args.connections)
            extra = (",".join(facts["slugs"][:400]),) if kind == "product" else ()
            result = wrk(app.url(), args.seconds, args.connections, script="first_view.lua", args=(kind, *extra))
            record("first view", name, result, baseline)
        if "during stock sync" not in args.modes:
            return rows
        ticker = stock_sync(app.url(), token, facts["skus"])
        ticker.start()
        try:
            for name, url in urls.items():
                baseline = wrk(hello.url("/"), args.seconds, args.connections)
                before = ticker.done
                result = wrk(app.url(url), args.seconds, args.connections)
                record("during stock sync", name, result, baseline, f"{5 * (ticker.done - before)} stock changes")
        finally:
            ticker.stop()
        if ticker.errors:
            print(f"  {ticker.errors} stock changes failed", file=sys.stderr)
    finally:
        app.stop()
        hello.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", default="10000,100000,1000000", help="catalog sizes, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma-separated, of: {', '.join(MODES)}",
    )
    parser.add_argument(
        "--workdir", default=str(ROOT / "bench" / "results"), help="kept between runs so each catalog is seeded once"
    )
    args = parser.parse_args()
    args.modes = [m.strip() for m in args.modes.split(",")]
    if unknown := set(args.modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    if not need_wrk():
        return 2
    redis = RedisServer().start()
    rows: list[dict] = []
    try:
        for backend in args.backends.split(","):
            for products in (int(n) for n in args.products.split(",")):
                folder = Path(args.workdir) / f"{backend}-{products}"
                with Backend(backend, folder) as database_url:
                    env = app_env(folder / "instance", database_url, redis.url)
                    print(f"{backend}, {products:,} products", flush=True)
                    seed_catalog(env, products)
                    rows += measure(backend, products, env, args)
    finally:
        redis.stop()
    columns = [
        ("backend", "database"),
        ("products", "products"),
        ("mode", "mode"),
        ("page", "page"),
        ("rps", "req/s"),
        ("p50", "p50 ms"),
        ("p90", "p90 ms"),
        ("p95", "p95 ms"),
        ("hello", "hello-world req/s"),
        ("ratio", "ratio"),
        ("errors", "errors"),
    ]
    print()
    print(table(rows, columns))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
