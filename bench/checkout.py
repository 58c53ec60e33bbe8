"""Checkout benchmark (not a test): `python bench/checkout.py` (PostgreSQL by default).

1. Throughput: 16 concurrent buyers, each going through the whole journey again
   and again — add a product of each of two producers to the cart (each add is
   redirected to the cart page, which the buyer opens, as a browser without
   JavaScript does), open the checkout form, fill in the delivery form (redirected
   to the review page), open the review page, place a cash-on-delivery order —
   9 HTTP requests through gunicorn (2 workers, Redis as in production), counted
   as they happen. Reported: orders per second, p50/p95 of the "place order"
   request and of the whole journey, and gunicorn's CPU per order (moved less
   than the wall-clock figures by other work on a shared machine). The bare baseline,
   measured in the same run on the same database: 16 threads running the least
   an order must write in one transaction (two conditional stock UPDATEs, an
   order row and two line rows) with plain SQL.
2. Place order alone (a separate figure, not the journey's): the same 16 buyers,
   each first given --place-carts reviewed carts (two adds, checkout form,
   delivery form, review page), then only the "place order" requests are timed —
   orders/s, p50/p95 and gunicorn's CPU per order for that request alone.
3. Hello-world: the smallest Flask app under the same gunicorn (wrk, 16
   connections): its req/s divided by 9 is what no 9-request journey can beat
   on this machine, whatever the app does.
4. Flash sale: 500 buyers (64 at a time) for a promotion week's quota of 100
   units of one SKU (its whole stock): exactly 100 orders must be placed, stock
   and quota never below zero; p50/p95 of "place order" reported.

Target (issue 9): at least 50 orders/s with 16 buyers on PostgreSQL on this
2-core machine; the flash sale sells exactly its quota."""

import argparse
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from common import APP_PRELUDE, ROOT, Backend, Gunicorn, RedisServer, app_env, flask, need_wrk, python, wrk

FIELDS = re.compile(r'name="(csrf_token|checkout_key|expected_total)"[^>]*?value="([^"]*)"')

SETUP = (
    APP_PRELUDE
    + r"""
import json
from datetime import timedelta
from sqlalchemy import update
from shop.formatting import utcnow
from shop.places.models import Province, Ward
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.settings.services import set_int
hanoi = db.session.scalars(select(Province).where(Province.slug == "ha-noi")).one()
ward = db.session.scalars(select(Ward).where(Ward.province_id == hanoi.id).order_by(Ward.code)).first()
producers = db.session.scalars(select(Producer).where(Producer.status == "approved").order_by(Producer.id)).all()
chosen = []
for producer in producers:
    v = db.session.scalars(select(Variant).join(Product).where(Product.producer_id == producer.id,
        *ON_SALE, Variant.price < 200000).order_by(Variant.id)).first()
    if v is not None:
        chosen.append(v)
    if len(chosen) == 3:
        break
a, b, sale = chosen
db.session.execute(update(Variant).where(Variant.id.in_([a.id, b.id])).values(stock=10_000_000))
db.session.execute(update(Variant).where(Variant.id == sale.id).values(stock=100))
set_int("cod_max_amount", 10_000_000)
now = utcnow()
# Only the flash sale runs, so its quota is what the SKU sells at (the demo's own weeks stay out).
db.session.execute(update(Promotion).values(state="draft"))
week = Promotion(slug="flash-bench", name="Flash sale", kind="percent", value=30, invitation_only=True,
    operator_share=100, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2), state="published",
    scope={})
db.session.add(week)
db.session.flush()
db.session.add(PromotionEnrolment(promotion_id=week.id, producer_id=sale.product.producer_id, variant_id=sale.id,
    promo_price=sale.price * 7 // 10, quota=100, state="approved"))
from shop.catalog.services import commit_catalog_change
commit_catalog_change([a.product_id, b.product_id, sale.product_id])
print(json.dumps({"a": a.id, "b": b.id, "sale": sale.id, "province": hanoi.id, "ward": ward.id}))
"""
)

COUNT = (
    APP_PRELUDE
    + r"""
import json
from shop.orders.models import Order, OrderLine
from shop.promotions.models import Promotion, PromotionEnrolment
sale = int(__import__("sys").argv[1])
lines = db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.variant_id == sale))
quota = db.session.scalars(select(PromotionEnrolment).join(PromotionEnrolment.promotion)
    .where(PromotionEnrolment.variant_id == sale, Promotion.slug == "flash-bench")).one()
print(json.dumps({"orders": db.session.scalar(select(func.count(Order.id))), "sale_lines": lines,
    "stock": db.session.get(Variant, sale).stock, "sold": quota.sold, "quota": quota.quota}))
"""
)


REQUESTS = [0]  # HTTP requests made by the buyers (redirects followed included)


def _sent(response: requests.Response) -> requests.Response:
    REQUESTS[0] += 1 + len(response.history)
    return response


def delivery_form(checkout_page: str, facts: dict, n: int) -> dict:
    """Buyer n's delivery form, filled in on the checkout page."""
    return {
        "csrf_token": dict(FIELDS.findall(checkout_page)).get("csrf_token", ""),
        "email": f"mua{n}@example.vn",
        "recipient": "Nguyễn Văn Mua",
        "phone": "0912345678",
        "province_id": facts["province"],
        "ward_id": facts["ward"],
        "street": f"{n} Hàng Bạc",
    }


def reviewed_cart(base: str, facts: dict, items: list[int], n: int) -> tuple[requests.Session, dict[str, str]]:
    """A buyer who has filled the cart and the delivery form and opened the review
    page: the session and the review form's fields (empty if it did not get there)."""
    s = requests.Session()
    s.headers["Origin"] = base
    for variant in items:
        _sent(s.post(base + "/gio-hang/them", data={"variant_id": variant, "quantity": 1}, timeout=60))
    page = _sent(s.get(base + "/thanh-toan", timeout=60)).text
    _sent(s.post(base + "/thanh-toan", data=delivery_form(page, facts, n), timeout=60))
    review = _sent(s.get(base + "/thanh-toan/xac-nhan", timeout=60)).text
    return s, dict(FIELDS.findall(review))


def place(base: str, s: requests.Session, fields: dict[str, str]) -> bool:
    """Submit the review page for cash on delivery: True when the order was placed."""
    if "checkout_key" not in fields:
        return False
    data = {**fields, "payment_method": "cod"}
    try:
        response = s.post(base + "/thanh-toan/dat-hang", data=data, allow_redirects=False, timeout=60)
    except requests.ConnectionError:
        # A kept-alive connection the server closed (idle past gunicorn's keepalive) just
        # as the POST went out on it: sent again on a new connection, as browsers do. The
        # checkout key makes a second submit of the same cart answer with the first order.
        RESENT.append(1)
        response = s.post(base + "/thanh-toan/dat-hang", data=data, allow_redirects=False, timeout=60)
    placed = _sent(response)
    return placed.status_code == 303 and "/don-hang/" in placed.headers.get("Location", "")


RESENT: list[int] = []  # place-order POSTs sent again after a reset connection


def journey(base: str, facts: dict, items: list[int], n: int) -> tuple[bool, float, float]:
    """One buyer's whole checkout; returns (placed, place-order seconds, journey seconds)."""
    started = time.perf_counter()
    s, fields = reviewed_cart(base, facts, items, n)
    placing = time.perf_counter()
    ok = place(base, s, fields)
    done = time.perf_counter()
    return ok, done - placing, done - started


def bare_orders(database_url: str, facts: dict, threads: int, seconds: float) -> float:
    """Orders per second writing only what an order must: plain SQL, `threads` at once."""
    from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table, create_engine, text

    engine = create_engine(database_url, pool_size=threads)
    meta = MetaData()
    orders = Table(
        "bench_order",
        meta,
        Column("id", Integer, primary_key=True),
        Column("email", String),
        Column("total", BigInteger),
    )
    lines = Table(
        "bench_line",
        meta,
        Column("order_id", ForeignKey("bench_order.id")),
        Column("variant_id", Integer),
        Column("qty", Integer),
    )
    meta.drop_all(engine)
    meta.create_all(engine)
    stop = time.monotonic() + seconds
    counts = [0] * threads
    take = text("UPDATE variant SET stock = stock - 1 WHERE id = :v AND stock >= 1")

    def worker(i: int) -> None:
        with engine.connect() as conn:
            while time.monotonic() < stop:
                with conn.begin():
                    for variant in (facts["a"], facts["b"]):
                        conn.execute(take, {"v": variant})
                    order_id = conn.execute(
                        orders.insert().values(email=f"bare{i}@example.vn", total=1).returning(orders.c.id)
                    ).scalar()
                    conn.execute(
                        lines.insert(),
                        [{"order_id": order_id, "variant_id": v, "qty": 1} for v in (facts["a"], facts["b"])],
                    )
                counts[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    meta.drop_all(engine)
    engine.dispose()
    return sum(counts) / elapsed


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of `values` (seconds), in milliseconds."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] * 1000


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the gunicorn master `pid` and its workers."""
    import psutil

    master = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [master, *master.children(recursive=True)])


class LockWaits(threading.Thread):
    """Samples pg_stat_activity every 0.2 s: how many of the app's sessions are in a
    transaction, and how many of those wait for a lock (a hot row held too long)."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.database_url = database_url
        self.stopping = threading.Event()
        self.busy = self.waiting = 0

    def run(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        query = text(
            "SELECT count(*) FILTER (WHERE state <> 'idle'),"
            " count(*) FILTER (WHERE wait_event_type = 'Lock')"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with engine.connect() as conn:
            while not self.stopping.wait(0.2):
                busy, waiting = conn.execute(query).one()
                conn.rollback()
                self.busy += busy
                self.waiting += waiting
        engine.dispose()

    def share(self) -> float:
        self.stopping.set()
        self.join(10)
        return self.waiting / max(1, self.busy)


def throughput(base: str, facts: dict, buyers: int, seconds: float, pid: int, database_url: str) -> dict:
    cpu_before = server_cpu(pid)
    locks = LockWaits(database_url) if database_url.startswith("postgresql") else None
    if locks:
        locks.start()
    stop = time.monotonic() + seconds
    placing, journeys, failures = [], [], [0]
    lock = threading.Lock()
    counter = iter(range(10**9))

    def buyer() -> None:
        while time.monotonic() < stop:
            ok, place_s, journey_s = journey(base, facts, [facts["a"], facts["b"]], next(counter))
            with lock:
                if ok:
                    placing.append(place_s)
                    journeys.append(journey_s)
                else:
                    failures[0] += 1

    started = time.monotonic()
    sent_before = REQUESTS[0]
    threads = [threading.Thread(target=buyer) for _ in range(buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu = server_cpu(pid) - cpu_before
    return {
        "lock_waits": locks.share() if locks else 0.0,
        # The server's CPU per order: what the journey costs, whatever else the machine runs.
        "cpu_per_order_ms": cpu / max(1, len(placing)) * 1000,
        "orders": len(placing),
        "orders_per_s": len(placing) / elapsed,
        "requests_per_journey": (REQUESTS[0] - sent_before) / max(1, len(placing) + failures[0]),
        "failed": failures[0],
        "place_p50": percentile(placing, 50),
        "place_p95": percentile(placing, 95),
        "journey_p50": percentile(journeys, 50),
        "journey_p95": percentile(journeys, 95),
    }


def place_only(base: str, facts: dict, buyers: int, carts: int, pid: int) -> dict:
    """Orders/s of the "place order" request alone: each buyer thread first gets
    `carts` reviewed carts ready, then all place theirs at once, timed."""
    ready: list[list[tuple[requests.Session, dict[str, str]]]] = [[] for _ in range(buyers)]
    start = threading.Barrier(buyers + 1)
    placing: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def buyer(i: int) -> None:
        for k in range(carts):
            ready[i].append(reviewed_cart(base, facts, [facts["a"], facts["b"]], 2 * 10**6 + i * carts + k))
        start.wait()
        for s, fields in ready[i]:
            began = time.perf_counter()
            ok = place(base, s, fields)
            with lock:
                if ok:
                    placing.append(time.perf_counter() - began)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(buyers)]
    for t in threads:
        t.start()
    start.wait()  # every cart is reviewed: from here only "place order" runs
    cpu_before, started = server_cpu(pid), time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu = server_cpu(pid) - cpu_before
    return {
        "orders": len(placing),
        "failed": failures[0],
        "orders_per_s": len(placing) / elapsed,
        "cpu_per_order_ms": cpu / max(1, len(placing)) * 1000,
        "place_p50": percentile(placing, 50),
        "place_p95": percentile(placing, 95),
    }


def hello_world(env: dict, seconds: int, connections: int) -> float:
    """Requests/s of the smallest Flask app under the same gunicorn (the ceiling for any request)."""
    hello = Gunicorn("bench.hello:app", env)
    try:
        return float(wrk(hello.url("/"), seconds, connections)["rps"])
    finally:
        hello.stop()


def flash_sale(base: str, facts: dict, buyers: int, concurrency: int) -> dict:
    placing: list[float] = []

    def one(n: int) -> bool:
        ok, place_s, _ = journey(base, facts, [facts["sale"]], 10**6 + n)
        if ok:
            placing.append(place_s)
        return ok

    with ThreadPoolExecutor(concurrency) as pool:
        placed = sum(pool.map(one, range(buyers)))
    return {"placed": placed, "place_p50": percentile(placing, 50), "place_p95": percentile(placing, 95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--flash-buyers", type=int, default=500)
    parser.add_argument("--place-carts", type=int, default=12, help="reviewed carts per buyer for place-order alone")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    if not need_wrk():
        return 2
    folder = Path(args.workdir) / f"checkout-{args.backend}"
    redis = RedisServer().start()
    try:
        with Backend(args.backend, folder, fresh=True) as database_url:  # the counts below start from zero
            env = app_env(folder / "instance", database_url, redis.url)
            flask(["db", "upgrade"], env)
            flask(["seed-demo", "--no-orders"], env)
            facts = json.loads(python(SETUP, env))
            bare = bare_orders(database_url, facts, args.buyers, min(args.seconds, 10))
            hello = hello_world(env, 5, args.buyers)
            app = Gunicorn("wsgi:app", env)
            try:
                journey(app.url(), facts, [facts["a"]], 0)  # warm both workers' caches
                journey(app.url(), facts, [facts["b"]], 1)
                result = throughput(app.url(), facts, args.buyers, args.seconds, app.proc.pid, database_url)
                alone = place_only(app.url(), facts, args.buyers, args.place_carts, app.proc.pid)
                sale = flash_sale(app.url(), facts, args.flash_buyers, 64)
            finally:
                app.stop()
            counts = json.loads(run_count(env, facts["sale"]))
    finally:
        redis.stop()
    ratio = result["orders_per_s"] / bare
    print(f"\n{args.backend}: {args.buyers} buyers for {args.seconds:.0f} s")
    print(
        f"  {result['orders_per_s']:.1f} orders/s ({result['orders']} orders, {result['failed']} failed)"
        f" — bare transaction {bare:.0f} orders/s — ratio {ratio:.1%}"
    )
    print(f"  place order p50 {result['place_p50']:.0f} ms, p95 {result['place_p95']:.0f} ms")
    print(
        f"  gunicorn CPU per order (whole journey): {result['cpu_per_order_ms']:.0f} ms;"
        f" database sessions in a statement or transaction that wait for a lock: {result['lock_waits']:.0%}"
    )
    print(
        f"  whole journey ({result['requests_per_journey']:.0f} HTTP requests) p50 {result['journey_p50']:.0f} ms,"
        f" p95 {result['journey_p95']:.0f} ms"
    )
    print(
        f"  hello-world under the same gunicorn: {hello:.0f} req/s — ÷ 9 requests = {hello / 9:.0f} journeys/s,"
        f" the most any 9-request journey could reach here; this journey is at {result['orders_per_s'] / hello * 9:.1%}"
        " of that"
    )
    print(f"place order alone ({args.buyers} buyers, each with {args.place_carts} reviewed carts ready):")
    print(
        f"  {alone['orders_per_s']:.1f} orders/s ({alone['orders']} orders, {alone['failed']} failed) — ratio"
        f" {alone['orders_per_s'] / bare:.1%} of the bare transaction,"
        f" {alone['orders_per_s'] / hello:.1%} of hello-world;"
        f" p50 {alone['place_p50']:.0f} ms, p95 {alone['place_p95']:.0f} ms; gunicorn CPU per order"
        f" {alone['cpu_per_order_ms']:.0f} ms"
    )
    print(f"flash sale: {args.flash_buyers} buyers, 64 at a time, for a quota of {counts['quota']}")
    print(
        f"  {sale['placed']} orders placed; {counts['sale_lines']} order lines for the SKU; stock left "
        f"{counts['stock']}; quota sold {counts['sold']}; place order p50 {sale['place_p50']:.0f} ms,"
        f" p95 {sale['place_p95']:.0f} ms"
    )
    ok = sale["placed"] == counts["quota"] == counts["sale_lines"] == counts["sold"] and counts["stock"] == 0
    print("  exactly the quota was sold" if ok else "  THE FLASH SALE DID NOT SELL EXACTLY ITS QUOTA")
    if RESENT:
        print(f"  {len(RESENT)} place-order POSTs sent again after the server closed their idle connection")
    return 0 if ok and result["failed"] == 0 and alone["failed"] == 0 else 1


def run_count(env: dict, sale: int) -> str:
    import subprocess

    return (
        subprocess.run(
            [sys.executable, "-c", COUNT, str(sale)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )


if __name__ == "__main__":
    sys.exit(main())
