"""A promotion week's load (not a test): `python bench/promotion_week.py`.

On the 100,000-product catalog of bench/catalog.py (seeded there if missing),
with a promotion week running, the app is served the production way (gunicorn,
2 workers, page cache on redis-server) and loaded at once, on loopback and for
a bounded time, by:
- shoppers browsing listings, searches and product pages (three wrk runs side
  by side, 8 connections in all; 30% of requests carry a cart-holder's cookie);
- a steady stream of cash-on-delivery orders (one buyer after another, the
  whole journey: cart, delivery, review, place);
- a producer syncing 5 SKUs' stock through the API every second.

Reported: p50/p95 per kind of page, the page cache's hit rate (the X-Cache
header of every answer), orders per second and errors.

Targets (issue 9): catalog p95 < 50 ms, 0 errors, hit rate >= 90%."""

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from catalog import cart_cookie, sample, stock_sync
from checkout import journey
from common import APP_PRELUDE, ROOT, Backend, Gunicorn, RedisServer, app_env, flask, python, seed_catalog, warm

WEEK = (
    APP_PRELUDE
    + r"""
import json
from datetime import timedelta
from sqlalchemy import delete, update
from shop.formatting import utcnow
from shop.places.models import Province, Ward
from shop.promotions.models import Promotion
from shop.settings.services import set_int
db.session.execute(delete(Promotion).where(Promotion.slug == "tuan-le-bench"))
now = utcnow()
db.session.add(Promotion(slug="tuan-le-bench", name="Tuần lễ OCOP (bench)", kind="percent", value=15,
    max_discount=50000, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3), state="published",
    scope={"min_stars": 4}, operator_share=100))
set_int("cod_max_amount", 50_000_000)
db.session.commit()
hanoi = db.session.scalars(select(Province).where(Province.slug == "ha-noi")).one()
ward = db.session.scalars(select(Ward).where(Ward.province_id == hanoi.id).order_by(Ward.code)).first()
pair = db.session.scalars(select(Variant).join(Product).where(*ON_SALE, Product.in_stock.is_(True))
    .order_by(Variant.id).limit(2)).all()
db.session.execute(update(Variant).where(Variant.id.in_([v.id for v in pair])).values(stock=1_000_000))
db.session.commit()
print(json.dumps({"a": pair[0].id, "b": pair[1].id, "province": hanoi.id, "ward": ward.id}))
"""
)
END_WEEK = APP_PRELUDE + (
    "from sqlalchemy import delete\nfrom shop.promotions.models import Promotion\n"
    "db.session.execute(delete(Promotion).where(Promotion.slug == 'tuan-le-bench'))\ndb.session.commit()\nprint('ok')"
)


def urls(slugs: list[str]) -> dict[str, list[str]]:
    groups = ["thuc-pham", "do-uong", "duoc-lieu-va-san-pham-tu-duoc-lieu", "hang-thu-cong-my-nghe", "sinh-vat-canh"]
    provinces = ["ha-noi", "bac-ninh", "lao-cai", "an-giang", "vinh-long", "hue", "dak-lak", "son-la", "gia-lai"]
    listing = ["/", "/san-pham", *(f"/san-pham?page={n}" for n in range(2, 6))]
    listing += [f"/san-pham?group={g}" for g in groups] + [f"/san-pham?province={p}" for p in provinces]
    listing += [f"/san-pham?stars={s}" for s in (3, 4, 5)] + ["/san-pham?stars=4&in_stock=1", "/khuyen-mai"]
    listing += [f"/san-pham?group={g}&sort=price_asc" for g in groups[:3]]
    words = ["mat ong", "tra", "gao", "banh", "nuoc mam", "ruou", "mien", "ca phe", "nam", "buoi", "lua", "hoa lan"]
    search = [f"/san-pham?q={w.replace(' ', '+')}" for w in words]
    search += [f"/san-pham?q={w.replace(' ', '+')}&in_stock=1" for w in words[:8]]
    product = [f"/san-pham/{s}" for s in slugs[:300]]
    return {"listing": listing, "search": search, "product": product}


def wrk_side_by_side(base: str, kinds: dict[str, list[str]], connections: dict[str, int], seconds: int, cookie: str):
    procs = {}
    for kind, paths in kinds.items():
        cmd = ["wrk", "-t1", f"-c{connections[kind]}", f"-d{seconds}s", "--latency"]
        cmd += ["-s", str(ROOT / "bench" / "promotion_week.lua"), base, "--", kind, ",".join(paths), "30", cookie]
        procs[kind] = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    return {kind: json.loads(p.communicate()[0].strip().splitlines()[-1]) for kind, p in procs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--orders-per-second", type=float, default=2.0)
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    folder = Path(args.workdir) / f"{args.backend}-{args.products}"
    redis = RedisServer().start()
    try:
        with Backend(args.backend, folder) as database_url:
            env = app_env(folder / "instance", database_url, redis.url)
            seed_catalog(env, args.products)
            facts = sample(env)
            order_facts = json.loads(python(WEEK, env))
            token = flask(["producer-token", facts["producer"], "--name", "bench"], env).strip().split()[-1]
            app = Gunicorn("wsgi:app", env)
            try:
                base = app.url()
                warm(base + "/san-pham?warm=1", times=6)
                kinds = urls(facts["slugs"])
                for paths in kinds.values():  # the week's popular pages, once
                    for path in paths:
                        requests.get(base + path, timeout=120).raise_for_status()
                cookie = cart_cookie(base, facts["variant"])
                sync = stock_sync(base, token, facts["skus"])
                orders = {"placed": 0, "failed": 0}
                stop = threading.Event()

                def buyer() -> None:
                    n = 0
                    while not stop.is_set():
                        started = time.monotonic()
                        ok, _place, _journey = journey(base, order_facts, [order_facts["a"], order_facts["b"]], n)
                        orders["placed" if ok else "failed"] += 1
                        n += 1
                        stop.wait(max(0.0, 1 / args.orders_per_second - (time.monotonic() - started)))

                buying = threading.Thread(target=buyer, daemon=True)
                sync.start()
                buying.start()
                began = time.monotonic()
                results = wrk_side_by_side(base, kinds, {"listing": 3, "search": 2, "product": 3}, args.seconds, cookie)
                elapsed = time.monotonic() - began
                stop.set()
                buying.join(60)
                sync.stop()
            finally:
                app.stop()
            python(END_WEEK, env)
    finally:
        redis.stop()

    hits = sum(r["hits"] for r in results.values())
    answered = sum(r["answered"] for r in results.values())
    errors = sum(r["errors"] + r["non2xx"] for r in results.values()) + orders["failed"] + sync.errors
    print(f"\n{args.backend}, {args.products:,} products, {args.seconds} s, a promotion week running")
    print("| page | req/s | p50 ms | p95 ms | from the cache |")
    print("|---|---:|---:|---:|---:|")
    for kind, r in results.items():
        print(
            f"| {kind} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['hits'] / max(1, r['answered']):.1%} |"
        )
    print(f"cache hit rate {hits / max(1, answered):.1%} of {answered:,} catalog answers")
    for kind, r in results.items():
        if r["errors"] + r["non2xx"]:
            print(f"{kind} errors: {r['why']}")
    print(
        f"orders: {orders['placed']} placed ({orders['placed'] / elapsed:.2f}/s), {orders['failed']} failed;"
        f" stock syncs: {sync.done} (5 SKUs each), {sync.errors} failed; errors in all: {errors}"
    )
    worst = max(r["p95"] for r in results.values())
    ok = errors == 0 and worst < 50 and hits / max(1, answered) >= 0.9
    print("targets met" if ok else "TARGETS NOT MET (p95 < 50 ms, 0 errors, hit rate >= 90%)")
    return 0 if ok else 1


if __name__ == "__main__":
    random.seed(1)
    sys.exit(main())
