"""Catalog benchmark (not a test): `make bench` or `python bench/catalog.py`.

On a catalog of --products synthetic products (default 100,000), each page is
served by gunicorn with 2 workers and loaded with wrk; a hello-world Flask app
under the same gunicorn is measured in the same run as the baseline, and each
page's throughput is printed as a ratio of it. Two app modes are measured:
"page cache" (anonymous visitors: whole pages cached on Redis, as in
production), "facet cache" (signed-in visitors: pages render and query, facet
counts come from the cache) and "no cache" (every request computes everything,
as for the first visitor of a new filter combination). The SQL
statements per page are counted in-process for two page sizes.

Targets (issue 2): p95 < 50 ms per page, >= 40% of hello-world throughput,
<= 6 queries per page whatever its size."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shop.devstack import gunicorn_command  # noqa: E402
from tests.support.servers import PostgresServer, RedisServer, free_port, wait_for_port  # noqa: E402

PAGES = {
    "listing": "/san-pham",
    "filtered": "/san-pham?stars=4&province=ha-noi&in_stock=1",
    "search": "/san-pham?q=mat+ong",
    "product": "/san-pham/{slug}",
    "api-list": "/api/v1/products?per_page=100",
}


def run(cmd: list[str], env: dict) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def prepare_database(env: dict, products: int) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    run(flask + ["db", "upgrade"], env)
    code = (
        "from sqlalchemy import func, select\nfrom shop import create_app\nfrom shop.extensions import db\n"
        "from shop.catalog.models import Product\napp = create_app()\nwith app.app_context():\n"
        "    print(db.session.scalar(select(func.count(Product.id))))"
    )
    have = int(run([sys.executable, "-c", code], env).strip() or 0)
    if have < products:
        print(f"  seeding {products - have} products…", flush=True)
        started = time.monotonic()
        run(flask + ["seed-bulk", "--products", str(products - have)], env)
        print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)


def product_slug(env: dict) -> str:
    code = (
        "from sqlalchemy import select\nfrom shop import create_app\nfrom shop.extensions import db\n"
        "from shop.catalog.models import Product\napp = create_app()\nwith app.app_context():\n"
        "    print(db.session.scalar(select(Product.slug).where(Product.listed.is_(True))"
        ".order_by(Product.id.desc()).offset(500).limit(1)))"
    )
    return run([sys.executable, "-c", code], env).strip()


def query_counts(env: dict, urls: dict[str, str]) -> dict[str, tuple[int, int]]:
    """SQL statements per page at two page sizes (uncached, in-process)."""
    code = r"""
import json, sys
from sqlalchemy import event
from shop import create_app
from shop.extensions import db
urls = json.loads(sys.argv[1])
app = create_app(PAGE_CACHE_SECONDS=0, VALUE_CACHE_SECONDS=0)
count = [0]
with app.app_context():
    event.listen(db.engine, "before_cursor_execute", lambda *a: count.__setitem__(0, count[0] + 1))
client = app.test_client()
out = {}
for name, url in urls.items():
    sizes = []
    for per_page in (5, 100):
        sep = "&" if "?" in url else "?"
        client.get(url + f"{sep}per_page={per_page}")
        count[0] = 0
        assert client.get(url + f"{sep}per_page={per_page}").status_code == 200, url
        sizes.append(count[0])
    out[name] = sizes
print(json.dumps(out))
"""
    return json.loads(run([sys.executable, "-c", code, json.dumps(urls)], env).strip().splitlines()[-1])


def wrk(url: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench" / "latency.lua"), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


class Gunicorn:
    def __init__(self, app: str, env: dict):
        self.port = free_port()
        self.proc = subprocess.Popen(
            gunicorn_command(self.port, app=app),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout=60, proc=self.proc)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def measure(backend: str, env: dict, args) -> list[dict]:
    slug = product_slug(env)
    urls = {name: path.format(slug=slug) for name, path in PAGES.items()}
    queries = query_counts(env, {k: v for k, v in urls.items()})
    rows = []
    hello = Gunicorn("bench.hello:app", {**env, "PYTHONPATH": str(ROOT)})
    modes = {
        "page cache": {"PAGE_CACHE_SECONDS": "300", "VALUE_CACHE_SECONDS": "300"},
        "facet cache": {"PAGE_CACHE_SECONDS": "0", "VALUE_CACHE_SECONDS": "300"},
        "no cache": {"PAGE_CACHE_SECONDS": "0", "VALUE_CACHE_SECONDS": "0"},
    }
    for mode, settings in modes.items():
        app = Gunicorn("wsgi:app", {**env, **settings})
        for name, path in urls.items():
            for _ in range(3):  # warm up: connections, caches
                subprocess.run(["curl", "-s", "-o", "/dev/null", app.url(path)], check=True)
            baseline = wrk(hello.url("/"), args.seconds, args.connections)
            result = wrk(app.url(path), args.seconds, args.connections)
            rows.append(
                {
                    "backend": backend,
                    "mode": mode,
                    "page": name,
                    "rps": result["rps"],
                    "p50": result["p50"],
                    "p95": result["p95"],
                    "hello_rps": baseline["rps"],
                    "ratio": result["rps"] / baseline["rps"],
                    "errors": result["errors"] + result["non2xx"],
                    "queries": queries[name],
                }
            )
            print(
                f"  {backend:10s} {mode:11s} {name:9s} {result['rps']:8.0f} req/s  p50 {result['p50']:6.1f} ms"
                f"  p95 {result['p95']:6.1f} ms  hello {baseline['rps']:7.0f} req/s"
                f"  ratio {result['rps'] / baseline['rps']:5.0%}  queries {queries[name]}",
                flush=True,
            )
        app.stop()
    hello.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--workdir", default=str(ROOT / "bench" / "results"), help="kept between runs so the catalog is seeded once"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    redis = RedisServer().start()
    pg = None
    rows = []
    try:
        for backend in args.backends.split(","):
            instance = workdir / backend
            instance.mkdir(exist_ok=True)
            env = {
                **os.environ,
                "SHOP_INSTANCE_DIR": str(instance),
                "REDIS_URL": redis.url,
                "SECRET_KEY": "bench",
                "PYTHONPATH": str(ROOT),
            }
            if backend == "postgresql":
                pg = PostgresServer(Path(tempfile.mkdtemp(prefix="ocop-bench-pg-"))).start()
                env["DATABASE_URL"] = pg.create_database("bench")
            else:
                env["DATABASE_URL"] = f"sqlite:///{instance / 'bench.db'}"
            print(f"{backend}: preparing {args.products} products", flush=True)
            prepare_database(env, args.products)
            rows += measure(backend, env, args)
            if pg:
                pg.stop()
                shutil.rmtree(pg.base, ignore_errors=True)
                pg = None
    finally:
        redis.stop()
        if pg:
            pg.stop()

    print("\n| backend | mode | page | req/s | p50 ms | p95 ms | hello req/s | ratio | queries (5 / 100 per page) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['mode']} | {r['page']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['hello_rps']:.0f} | {r['ratio']:.0%} | {r['queries'][0]} / {r['queries'][1]} |"
        )
    failed = [r for r in rows if r["errors"]]
    if failed:
        print(f"\n{len(failed)} measurements had errors or non-2xx responses", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
