"""CPU, SQL statements and Celery messages of one "place order", in-process (not a test):
`python bench/place_order_cpu.py` (PostgreSQL in bench/results/place-order-postgresql).

Seeds the demo (no orders) and bench/checkout.py's two-producer cart, then through Flask's
test client gets --orders reviewed carts ready (two adds, checkout form, delivery form,
review page) and times only the cash-on-delivery "place order" POSTs: the process CPU time
(time.process_time) per order, the SQL statements it sent and the Celery messages it queued
(counted as they are sent to redis-server; no worker runs), then the CPU the worker
spends rendering each of the e-mails those orders wrote. `--profile` prints the CPU share of the
e-mail and queueing functions (cProfile on process time) and writes the pstats file next
to the database."""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkout import FIELDS, SETUP, delivery_form  # noqa: E402
from common import Backend, RedisServer, app_env, flask, python  # noqa: E402

ORIGIN = {"Origin": "http://localhost"}
# The functions whose share of the CPU the profile prints.
WATCH = {"place", "place_order", "notify_order_placed", "queue_email", "enqueue", "queue"}


def reviewed(client, facts: dict, n: int) -> dict[str, str]:
    for variant in (facts["a"], facts["b"]):
        client.post("/gio-hang/them", data={"variant_id": variant, "quantity": 1}, headers=ORIGIN)
    page = client.get("/thanh-toan").get_data(as_text=True)
    client.post("/thanh-toan", data=delivery_form(page, facts, n), headers=ORIGIN)
    return dict(FIELDS.findall(client.get("/thanh-toan/xac-nhan").get_data(as_text=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--facts", help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args()
    folder = Path(args.workdir) / "place-order-postgresql"
    if args.facts:
        measure(json.loads(args.facts), args.orders, folder if args.profile else None)
        return 0
    redis = RedisServer().start()
    try:
        with Backend("postgresql", folder, fresh=True) as database_url:
            env = app_env(folder / "instance", database_url, redis.url)
            flask(["db", "upgrade"], env)
            flask(["seed-demo", "--no-orders"], env)
            facts = json.loads(python(SETUP, env))
            # A process of its own: the app reads its settings from the environment at import.
            child = [sys.executable, __file__, "--orders", str(args.orders), "--workdir", args.workdir]
            child += ["--facts", json.dumps(facts), *(["--profile"] if args.profile else [])]
            subprocess.run(child, env=env, check=True)
    finally:
        redis.stop()
    return 0


def measure(facts: dict, orders: int, profile_dir: Path | None) -> None:
    from celery import Celery
    from sqlalchemy import event

    from shop import create_app
    from shop.extensions import db

    app = create_app()
    messages: list[str] = []
    send_task = Celery.send_task

    def counted_send(self, name, *args, **kwargs):
        messages.append(name)
        return send_task(self, name, *args, **kwargs)  # into the bench's redis-server; no worker takes them

    Celery.send_task = counted_send  # type: ignore[method-assign]
    statements = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    carts = []
    for n in range(orders + 1):
        client = app.test_client()
        carts.append((client, reviewed(client, facts, n)))
    first_client, first_fields = carts.pop(0)  # warms the place-order path
    first_client.post("/thanh-toan/dat-hang", data={**first_fields, "payment_method": "cod"}, headers=ORIGIN)
    profiler = None
    if profile_dir is not None:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for a busy machine
    cpu, counted, sent = [], [], []
    for client, fields in carts:
        statements[0], messages[:] = 0, []
        if profiler:
            profiler.enable()
        began = time.process_time()
        response = client.post("/thanh-toan/dat-hang", data={**fields, "payment_method": "cod"}, headers=ORIGIN)
        cpu.append(time.process_time() - began)
        if profiler:
            profiler.disable()
        assert response.status_code == 303 and "/don-hang/" in response.headers["Location"], response.status_code
        counted.append(statements[0])
        sent.append(list(messages))
    print(f"place order, {len(cpu)} orders in-process on PostgreSQL:")
    print(f"  CPU per order: median {statistics.median(cpu) * 1000:.1f} ms, min {min(cpu) * 1000:.1f} ms")
    print(f"  SQL statements per order: {statistics.median(counted):.0f}")
    print(f"  Celery messages per order: {statistics.median(len(s) for s in sent):.0f} ({', '.join(sent[-1])})")
    with app.app_context():
        rendered = render_cpu()
    if rendered:
        print(f"  the worker's rendering of those e-mails: median {statistics.median(rendered) * 1000:.1f} ms CPU each")
    if profiler and profile_dir is not None:
        import pstats

        report = profile_dir / "place_order.pstats"
        profiler.dump_stats(report)
        stats = pstats.Stats(str(report))
        total = stats.total_tt  # type: ignore[attr-defined]  # pstats keeps the profile's total
        print("  share of the place-order CPU (cumulative, cProfile with process time):")
        for (path, _line, name), row in sorted(stats.stats.items(), key=lambda kv: -kv[1][3]):  # type: ignore[attr-defined]
            if name in WATCH and "shop/" in path:
                print(f"    {name:<24} {row[3] / total:6.1%}")
        print(f"  profile: {report} (python -m pstats)")


def render_cpu() -> list[float]:
    """CPU of rendering each unrendered outbox row, as the worker does first (rolled back)."""
    from sqlalchemy import select

    from shop.extensions import db
    from shop.notifications.models import OutboxEmail
    from shop.notifications.services import render_outbox_row

    times = []
    for row in db.session.scalars(select(OutboxEmail).where(OutboxEmail.params.is_not(None))).all():
        db.session.expire_all()  # as after the worker's claim commit: the order is read again
        began = time.process_time()
        render_outbox_row(row)
        times.append(time.process_time() - began)
    db.session.rollback()
    return times


if __name__ == "__main__":
    sys.exit(main())
