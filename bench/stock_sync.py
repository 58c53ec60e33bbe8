"""Stock sync throughput (not a test): items per second through the producer API
(POST /api/v1/producer/stock, batches of 1,000, served by gunicorn with 2
workers) against a bare UPDATE loop on the same database and the same rows
(plain SQL executemany, one commit per batch) measured in the same run.

    python bench/stock_sync.py                       # SQLite in a temporary folder
    python bench/stock_sync.py --postgres            # a throw-away PostgreSQL 15
    python bench/stock_sync.py --database-url postgresql+psycopg://user@host/db

Every round sets a new on-hand quantity for every SKU, so each item is really
applied (variants locked, holds read, stock written, products' read columns
refreshed, one transaction per batch). --webhooks N also writes N partner
deliveries per changed SKU, as production does when partners are registered."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shop.devstack import gunicorn_command  # noqa: E402
from tests.support.servers import PostgresServer, free_port, wait_for_port  # noqa: E402

VARIANTS_PER_PRODUCT = 4


def flask(args: list[str], env: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def seed(env: dict, skus: int, webhooks: int) -> tuple[str, list[str]]:
    """One approved producer with `skus` variants; returns a token and the SKUs."""
    from sqlalchemy import insert, select

    from shop import create_app
    from shop.catalog.models import Category, Product, Variant
    from shop.catalog.services import commit_catalog_change
    from shop.extensions import db
    from shop.inventory.tokens import create_token
    from shop.partners.services import add_webhook
    from shop.places.models import Province
    from shop.producers.models import Producer

    # config.py read the environment when shop was imported: pass the settings here.
    app = create_app(
        "development", SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"], MEDIA_DIR=env["MEDIA_DIR"], SECRET_KEY="bench"
    )
    with app.app_context():
        province = db.session.scalars(select(Province).order_by(Province.id)).first()
        category = db.session.scalars(select(Category).where(Category.level == 3).order_by(Category.id)).first()
        producer = Producer(
            slug="htx-bench", name="HTX Bench", owner_type="cooperative", province=province, status="approved"
        )
        db.session.add(producer)
        db.session.flush()
        products = skus // VARIANTS_PER_PRODUCT
        db.session.execute(
            insert(Product),
            [
                {
                    "producer_id": producer.id,
                    "category_id": category.id,
                    "province_id": province.id,
                    "slug": f"bench-{n}",
                    "name": f"Sản phẩm {n}",
                    "status": "published",
                }
                for n in range(products)
            ],
        )
        ids = list(db.session.scalars(select(Product.id).where(Product.producer_id == producer.id)))
        names = []
        rows = []
        for pid in ids:
            for v in range(VARIANTS_PER_PRODUCT):
                sku = f"BENCH-{pid}-{v}"
                names.append(sku)
                rows.append(
                    {
                        "product_id": pid,
                        "sku": sku,
                        "label": f"Gói {v}",
                        "price": 50_000 + v,
                        "weight_grams": 500,
                        "stock": 0,
                        "position": v,
                    }
                )
        db.session.execute(insert(Variant), rows)
        commit_catalog_change(ids)
        _, token = create_token(producer.id, "bench")
        for n in range(webhooks):
            add_webhook(f"Partner {n}", f"http://127.0.0.1:9/partner-{n}")
        db.session.remove()
        db.engine.dispose()
    return token, names


def through_api(base: str, token: str, skus: list[str], batch: int, quantity: int) -> float:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    for i in range(0, len(skus), batch):
        items = [{"sku": sku, "quantity": quantity} for sku in skus[i : i + batch]]
        response = session.post(f"{base}/api/v1/producer/stock", json={"items": items}, timeout=120)
        response.raise_for_status()
        applied = response.json()["counts"]["applied"]
        if applied != len(items):
            raise RuntimeError(f"expected {len(items)} applied, got {response.json()['counts']}")
    return time.perf_counter() - started


def bare_updates(url: str, skus: list[str], batch: int, quantity: int) -> float:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    statement = text("UPDATE variant SET stock = :stock WHERE sku = :sku")
    started = time.perf_counter()
    with engine.connect() as conn:
        for i in range(0, len(skus), batch):
            conn.execute(statement, [{"stock": quantity, "sku": sku} for sku in skus[i : i + batch]])
            conn.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--webhooks", type=int, default=0, help="partner webhooks registered (deliveries written)")
    parser.add_argument("--database-url", help="an empty database to use (e.g. PostgreSQL); default SQLite")
    parser.add_argument("--postgres", action="store_true", help="start a throw-away PostgreSQL 15 for the run")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ocop-bench-stock-"))
    pg = None
    server = None
    try:
        url = args.database_url
        if args.postgres:
            pg = PostgresServer(Path(tempfile.mkdtemp(prefix="ocop-bench-pg-"))).start()
            url = pg.create_database("bench_stock")
        url = url or f"sqlite:///{work / 'shop.db'}"
        env = {
            **os.environ,
            "SHOP_ENV": "development",
            "SHOP_INSTANCE_DIR": str(work / "instance"),
            "DATABASE_URL": url,
            "MEDIA_DIR": str(work / "media"),
            "SECRET_KEY": "bench-only",
            "PAGE_CACHE_SECONDS": "0",
            "VALUE_CACHE_SECONDS": "0",
        }
        env.pop("REDIS_URL", None)
        print(f"database: {url.split('@')[-1] if '@' in url else url}", flush=True)
        flask(["db", "upgrade"], env)
        flask(["load-reference"], env)
        token, skus = seed(env, args.skus, args.webhooks)
        print(f"seeded {len(skus)} SKUs, {args.webhooks} partner webhook(s)", flush=True)

        port = free_port()
        log = open(work / "gunicorn.log", "w")  # noqa: SIM115 - kept open for the server's life
        server = subprocess.Popen(
            gunicorn_command(port, workers=2), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_port(port, timeout=60, proc=server)
        base = f"http://127.0.0.1:{port}"

        through_api(base, token, skus[: args.batch], args.batch, 1)  # warm both workers' caches
        api, bare = [], []
        for r in range(args.rounds):
            api.append(through_api(base, token, skus, args.batch, 100 + r))
            bare.append(bare_updates(url, skus, args.batch, 200 + r))
        api_rate = len(skus) / min(api)
        bare_rate = len(skus) / min(bare)
        print(f"\n{len(skus)} SKUs in batches of {args.batch}, best of {args.rounds} rounds")
        print(f"  producer API (gunicorn, 2 workers): {api_rate:10,.0f} items/s  ({min(api):.2f} s)")
        print(f"  bare UPDATE executemany:            {bare_rate:10,.0f} items/s  ({min(bare):.2f} s)")
        print(f"  ratio API / bare:                   {api_rate / bare_rate:10.1%}")
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(15)
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg.base, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    code = main()
    if code == 0:
        # The other half: notification throughput through the worker (bench/notifications.py).
        print("\nnotifications through the outbox and the worker:", flush=True)
        code = subprocess.run([sys.executable, str(ROOT / "bench" / "notifications.py")], check=False).returncode
    sys.exit(code)
