"""CPU of one first view, in-process (not a test): `python bench/render_cpu.py DATABASE_URL`.

Asks the app through Flask's test client for catalog URLs nobody asked for before (the
same kinds as bench/first_view.lua: a listing page, a filter combination, a search, a
product page under a new query string), so the page cache never answers, and prints
the process CPU time (time.process_time) per request: render, queries, page cache store
and gzip, without gunicorn, wrk or the network. `--profile` writes a pyinstrument
report per kind next to the database. Use a copy of a bench database (bench/results/):
the page cache of this process stores what it renders.

Issue 9: a product page under 10 ms of CPU; a first view within ~5 ms to reach 10% of
hello-world under gunicorn."""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "mat",
    "ong",
    "tra",
    "gao",
    "banh",
    "nuoc",
    "mam",
    "ruou",
    "mien",
    "ca",
    "phe",
    "nam",
    "buoi",
    "lua",
    "hoa",
    "lan",
    "mut",
    "cha",
]
QUALIFIERS = ["truyen", "huu", "dac", "thuong", "sach", "rung", "cao", "nguyen", "thu", "vung", "loai"]
PROVINCES = ["ha-noi", "bac-ninh", "lao-cai", "an-giang", "vinh-long", "hue", "dak-lak", "son-la"]
SORTS = ("newest", "price_asc", "price_desc")


def first_view_url(kind: str, rng: random.Random, slugs: list[str]) -> str:
    unique = rng.randrange(10**9)
    if kind == "product":
        return f"/san-pham/{rng.choice(slugs)}?n={unique}"
    if kind == "search":
        return f"/san-pham?q={rng.choice(WORDS)}+{rng.choice(QUALIFIERS)}&n={unique}"
    if kind == "filtered":
        return (
            f"/san-pham?stars={rng.randint(3, 5)}&province={rng.choice(PROVINCES)}&in_stock=1"
            f"&sort={rng.choice(SORTS)}&n={unique}"
        )
    return f"/san-pham?page={rng.randint(1, 50)}&n={unique}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--kinds", default="listing,filtered,search,product")
    parser.add_argument("-n", type=int, default=200, help="requests per kind (after as many to warm up)")
    parser.add_argument("--language", default="vi", choices=("vi", "en"))
    parser.add_argument("--profile", action="store_true", help="pyinstrument report per kind")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-" + "x" * 32)
    os.environ.setdefault("SHOP_INSTANCE_DIR", str(ROOT / "bench" / "results" / "render-cpu"))

    from sqlalchemy import select

    from shop import create_app
    from shop.catalog.models import Product
    from shop.extensions import db
    from shop.formatting import today_vn

    app = create_app()
    with app.app_context():
        on_sale = (Product.listed.is_(True), Product.cert_valid_until >= today_vn())
        slugs = list(db.session.scalars(select(Product.slug).where(*on_sale).limit(400)))
    client = app.test_client()
    client.set_cookie("lang", args.language)
    headers = {"Accept-Encoding": "gzip"}
    for kind in args.kinds.split(","):
        rng = random.Random(kind)
        for _ in range(args.n):  # warm: the index, reference data, cards seen once
            assert client.get(first_view_url(kind, rng, slugs), headers=headers).status_code == 200
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        # In rounds of 20: on a shared machine the other processes inflate some rounds
        # (cache misses, frequency); the quietest round is the figure to compare.
        rounds = []
        for _ in range(max(1, args.n // 20)):
            cpu = time.process_time()
            for _ in range(20):
                response = client.get(first_view_url(kind, rng, slugs), headers=headers)
                assert response.status_code == 200 and response.headers.get("X-Cache") != "HIT"
            rounds.append((time.process_time() - cpu) / 20 * 1000)
        rounds.sort()
        if profiler is not None:
            profiler.stop()
            out = Path(os.environ["SHOP_INSTANCE_DIR"]) / f"profile-{kind}.txt"
            out.write_text(profiler.output_text(unicode=True))
            print(f"  profile: {out}")
        print(
            f"{kind:9s} {rounds[0]:6.2f} ms CPU per first view (quietest of {len(rounds)} rounds of 20;"
            f" median {rounds[len(rounds) // 2]:.2f} ms)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
