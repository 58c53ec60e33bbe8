"""The cluster tier: the real topology of `make cluster` (nginx, two gunicorn nodes with
separate working directories, a mail and a stock worker, beat, PostgreSQL, Redis, an
S3-compatible store, an SMTP server) on 127.0.0.1, and what must survive on it: a
node's disk holding nothing, a web node stopped under load, a worker SIGKILLed
mid-task. Figures are printed (pytest -s) for the README."""

import csv
import io
import json
import re
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests

from shop.cluster import Cluster

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FIELDS = re.compile(r'name="(csrf_token|checkout_key|expected_total)"[^>]*?value="([^"]*)"')
PASSWORD = "demo12345"
pytestmark = pytest.mark.timeout(600)


def _block_is_free(base: int) -> bool:
    for port in range(base, base + 15):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


@pytest.fixture(scope="module")
def cluster():
    base = next((p for p in (7420, 7440, 7460, 7480) if _block_is_free(p)), None)
    if base is None:
        pytest.fail("no free block of 15 ports in 7420-7494 for the cluster")
    # Not under pytest's 0700 folder: the postgres user must reach its data directory.
    folder = Path(tempfile.mkdtemp(prefix="ocop-cluster-"))
    folder.chmod(0o755)
    started = time.monotonic()
    running = Cluster(
        folder,
        port=base,
        seed_options=("--no-images", "--no-orders"),
        env={
            # Short enough for a test to see a SIGKILLed worker's task handed on; still longer
            # than any task may run (the worker refuses to start otherwise).
            "CELERY_TASK_TIME_LIMIT": "25",
            "CELERY_VISIBILITY_TIMEOUT": "30",
            "OUTBOX_SWEEP_SECONDS": "5",
            "OUTBOX_SWEEP_MIN_AGE_SECONDS": "5",
        },
    ).start()
    print(f"\ncluster up in {time.monotonic() - started:.1f} s on {running.url}")
    yield running
    running.stop()
    shutil.rmtree(folder, ignore_errors=True)


def db(cluster):
    return psycopg.connect(f"host=127.0.0.1 port={cluster.postgres.port} user=postgres dbname=shop", autocommit=True)


def node_url(cluster, i: int) -> str:
    return f"http://127.0.0.1:{cluster.web_ports[i]}"


def signed_in(base: str, email: str) -> requests.Session:
    s = requests.Session()
    s.headers["Origin"] = base
    page = s.get(base + "/tai-khoan/dang-nhap", timeout=30).text
    token = CSRF.search(page)
    data = {"email": email, "password": PASSWORD, **({"csrf_token": token.group(1)} if token else {})}
    response = s.post(base + "/tai-khoan/dang-nhap", data=data, allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:500]
    return s


def producer_product(cluster) -> tuple[int, str]:
    with db(cluster) as conn:
        return conn.execute(
            "SELECT p.id, v.sku FROM product p JOIN producer r ON r.id = p.producer_id "
            "JOIN variant v ON v.product_id = p.id WHERE r.slug = 'htx-chan-nuoi-ong-phong-tho' "
            "ORDER BY p.id, v.id LIMIT 1"
        ).fetchone()


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (900, 700), (30, 140, 90)).save(out, "JPEG", quality=90)
    return out.getvalue()


def node_files(cluster, suffix: str) -> list[Path]:
    dirs = [cluster.base / n for n in ("web1", "web2", "worker-mail", "worker-stock", "beat")]
    return [p for d in dirs for p in d.rglob(f"*{suffix}")]


def test_a_photo_uploaded_through_node_1_is_served_through_node_2(cluster):
    product_id, _sku = producer_product(cluster)
    one = node_url(cluster, 0)
    owner = signed_in(one, "nongdan@demo.ocop.vn")
    page = owner.get(f"{one}/producer/san-pham/{product_id}", timeout=30).text
    sent = owner.post(
        f"{one}/producer/san-pham/{product_id}/anh",
        data={"csrf_token": CSRF.search(page).group(1)},
        files={"images": ("anh.jpg", jpeg(), "image/jpeg")},
        allow_redirects=False,
        timeout=60,
    )
    assert sent.status_code == 302, sent.text[:500]
    with db(cluster) as conn:
        path = conn.execute(
            "SELECT path FROM product_image WHERE product_id = %s ORDER BY id DESC LIMIT 1", (product_id,)
        ).fetchone()[0]
    served = requests.get(f"{node_url(cluster, 1)}/media/{path}", timeout=30)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.content[:3] == b"\xff\xd8\xff"
    assert not node_files(cluster, ".jpg")  # on no node's disk: in the bucket only


def test_a_stock_import_posted_to_node_1_is_processed_by_a_worker_sharing_no_disk(cluster):
    _product_id, sku = producer_product(cluster)
    one = node_url(cluster, 0)
    owner = signed_in(one, "nongdan@demo.ocop.vn")
    page = owner.get(f"{one}/producer/nhap-kho", timeout=30).text
    sent = owner.post(
        f"{one}/producer/nhap-kho",
        data={"csrf_token": CSRF.search(page).group(1)},
        files={"file": ("kho.csv", f"sku,quantity\n{sku},321\n".encode(), "text/csv")},
        allow_redirects=False,
        timeout=60,
    )
    assert sent.status_code == 302, sent.text[:500]
    import_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    status = wait_for_import(cluster, import_id, timeout=60)
    assert status == "done"
    with db(cluster) as conn:
        assert conn.execute("SELECT stock FROM variant WHERE sku = %s", (sku,)).fetchone()[0] == 321
    assert not node_files(cluster, ".csv")
    assert "inventory.process_import" in cluster.workers["stock"].log()
    assert "Task inventory.process_import[" not in cluster.workers["mail"].log()  # routed to the stock queue


def wait_for_import(cluster, import_id: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        with db(cluster) as conn:
            status = conn.execute("SELECT status FROM stock_import WHERE id = %s", (import_id,)).fetchone()[0]
        if status in ("done", "failed"):
            return status
        time.sleep(0.5)
    return status


# --- a web node stopped under load ----------------------------------------------------------


def buyer_facts(cluster) -> dict:
    with db(cluster) as conn:
        province = conn.execute("SELECT id FROM province WHERE slug = 'ha-noi'").fetchone()[0]
        ward = conn.execute("SELECT id FROM ward WHERE province_id = %s ORDER BY code LIMIT 1", (province,)).fetchone()[
            0
        ]
        variant = conn.execute(
            "SELECT v.id FROM variant v JOIN product p ON p.id = v.product_id WHERE p.listed "
            "AND v.price < 200000 ORDER BY v.id LIMIT 1"
        ).fetchone()[0]
        conn.execute("UPDATE variant SET stock = 1000000 WHERE id = %s", (variant,))
        conn.execute(
            "UPDATE product SET in_stock = true WHERE id = (SELECT product_id FROM variant WHERE id = %s)", (variant,)
        )
    return {"province": province, "ward": ward, "variant": variant}


def place_cod_order(base: str, facts: dict, email: str, responses: list | None = None) -> tuple[bool, int]:
    """A shopper's whole checkout through nginx; the final POST is retried with the
    same checkout key when it fails (as a shopper pressing again would). Returns
    (placed, attempts at placing)."""
    s = requests.Session()
    s.headers["Origin"] = base
    for step in range(3):
        try:
            s.post(base + "/gio-hang/them", data={"variant_id": facts["variant"], "quantity": 1}, timeout=30)
            page = s.get(base + "/thanh-toan", timeout=30).text
            fields = dict(FIELDS.findall(page))
            delivery = {
                "csrf_token": fields.get("csrf_token", ""),
                "email": email,
                "recipient": "Nguyễn Văn Mua",
                "phone": "0912345678",
                "province_id": facts["province"],
                "ward_id": facts["ward"],
                "street": "1 Hàng Bạc",
            }
            s.post(base + "/thanh-toan", data=delivery, timeout=30)
            fields = dict(FIELDS.findall(s.get(base + "/thanh-toan/xac-nhan", timeout=30).text))
            if "checkout_key" in fields:
                break
        except requests.RequestException:
            pass
        if step == 2:
            return False, 0
    attempts = 0
    for _ in range(4):
        attempts += 1
        try:
            placed = s.post(
                base + "/thanh-toan/dat-hang",
                data={**fields, "payment_method": "cod"},
                allow_redirects=False,
                timeout=30,
            )
            if responses is not None:
                responses.append(placed)
            if placed.status_code == 303 and "/don-hang/" in placed.headers.get("Location", ""):
                return True, attempts
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False, attempts


def test_stopping_a_web_node_mid_load_loses_no_order_and_no_get(cluster):
    facts = buyer_facts(cluster)
    base = cluster.url
    run_id = int(time.time())
    stop_at, end_at = time.monotonic() + 6, time.monotonic() + 20
    gets = {"ok": 0, "failed": 0, "by_status": {}}
    orders = {"placed": 0, "not_placed": 0, "retried": 0}
    lock = threading.Lock()
    with db(cluster) as conn:
        slug = conn.execute("SELECT slug FROM product WHERE listed ORDER BY id LIMIT 1").fetchone()[0]
    paths = ["/", "/san-pham", f"/san-pham/{slug}", "/san-pham?stars=4", "/livez"]

    def browse(n: int) -> None:
        s = requests.Session()
        i = n
        while time.monotonic() < end_at:
            i += 1
            try:
                status = s.get(base + paths[i % len(paths)], timeout=30).status_code
            except requests.RequestException:
                status = 0
            with lock:
                gets["ok" if status == 200 else "failed"] += 1
                if status != 200:
                    gets["by_status"][status] = gets["by_status"].get(status, 0) + 1

    def buy(n: int) -> None:
        k = 0
        while time.monotonic() < end_at:
            k += 1
            placed, attempts = place_cod_order(base, facts, f"tai-{run_id}-{n}-{k}@example.vn")
            with lock:
                orders["placed" if placed else "not_placed"] += 1
                orders["retried"] += attempts > 1

    def stop_node() -> None:
        time.sleep(max(0.0, stop_at - time.monotonic()))
        cluster.webs[0].stop()  # SIGTERM: gunicorn's graceful stop, as on a deploy or a scale-in

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=9) as pool:
        jobs = [pool.submit(browse, n) for n in range(4)] + [pool.submit(buy, n) for n in range(4)]
        jobs.append(pool.submit(stop_node))
        for job in jobs:
            job.result()
    seconds = time.monotonic() - started
    with db(cluster) as conn:
        in_db = conn.execute('SELECT count(*) FROM "order" WHERE email LIKE %s', (f"tai-{run_id}-%",)).fetchone()[0]
    print(
        f"\nweb node stopped after 6 s of a {seconds:.0f} s load: GET {gets['ok']} ok / {gets['failed']} failed "
        f"{gets['by_status']}; orders placed {orders['placed']} (in the database: {in_db}), "
        f"not placed {orders['not_placed']}, placed after a retry {orders['retried']}"
    )
    cluster.start_web(0)
    assert cluster.webs[0].proc is not None
    assert gets["failed"] == 0
    assert orders["placed"] > 0 and in_db == orders["placed"]  # every confirmed order exists, none twice
    assert orders["not_placed"] == 0


# --- a worker SIGKILLed mid-task --------------------------------------------------------------


def test_a_mail_worker_killed_mid_send_loses_no_e_mail(cluster):
    facts = buyer_facts(cluster)
    run_id = int(time.time())
    cluster.mail.delay = 2.0  # a slow relay: the worker is mid-conversation when it dies
    before = len(cluster.mail.messages())
    emails = [f"mail-{run_id}-{n}@example.vn" for n in range(4)]
    for email in emails:
        assert place_cod_order(cluster.url, facts, email)[0]
    with db(cluster) as conn:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            claimed = conn.execute(
                "SELECT count(*) FROM outbox_email WHERE sent_at IS NULL AND claimed_at IS NOT NULL"
            ).fetchone()[0]
            if claimed:
                break
            time.sleep(0.2)
        assert claimed, "no e-mail was being sent"
        rows = conn.execute("SELECT id, to_email FROM outbox_email WHERE sent_at IS NULL").fetchall()
    killed_at = time.monotonic()
    cluster.workers["mail"].kill()  # SIGKILL the worker and its pool: nothing acknowledges
    cluster.mail.delay = 0.0
    cluster.start_worker("mail")
    deadline = time.monotonic() + 120
    with db(cluster) as conn:
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT count(*) FROM outbox_email WHERE sent_at IS NULL AND id = ANY(%s)", ([r[0] for r in rows],)
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.5)
    recovered = time.monotonic() - killed_at
    received = cluster.mail.messages()[before:]
    to = [m["To"] for m in received]
    lost = [email for _id, email in rows if not any(email in t for t in to)]
    # A message whose SMTP conversation finished just before the kill may go out again
    # (at least once, never lost): count the same recipient and subject twice.
    sent = [(m["To"], m["Subject"]) for m in received]
    duplicates = len(sent) - len(set(sent))
    print(
        f"\nmail worker SIGKILLed with {len(rows)} e-mails unsent ({claimed} mid-send): all sent "
        f"{recovered:.0f} s later, lost {len(lost)}, sent twice {duplicates}"
    )
    with db(cluster) as conn:
        states = conn.execute(
            "SELECT id, sent_at IS NOT NULL, claimed_at, attempts, maybe_sent, failed_at, next_attempt_at, last_error "
            "FROM outbox_email WHERE id = ANY(%s) ORDER BY id",
            ([r[0] for r in rows],),
        ).fetchall()
    assert left == 0 and lost == [], (states, cluster.workers["mail"].log()[-3000:])


def test_a_stock_worker_killed_mid_import_loses_no_import(cluster):
    _product_id, sku = producer_product(cluster)
    one = node_url(cluster, 0)
    owner = signed_in(one, "nongdan@demo.ocop.vn")
    rows = 15_000  # under the 20,000-row limit
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "quantity"])
    for n in range(rows):
        writer.writerow([sku, 500 + n % 7])  # a SKU's first row counts, later ones are reported as repeats
    page = owner.get(f"{one}/producer/nhap-kho", timeout=30).text
    sent = owner.post(
        f"{one}/producer/nhap-kho",
        data={"csrf_token": CSRF.search(page).group(1)},
        files={"file": ("lon.csv", out.getvalue().encode(), "text/csv")},
        allow_redirects=False,
        timeout=60,
    )
    assert sent.status_code == 302, sent.text[:300]
    import_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    with db(cluster) as conn:
        deadline = time.monotonic() + 60
        processed = 0
        while time.monotonic() < deadline:
            status, processed = conn.execute(
                "SELECT status, processed_rows FROM stock_import WHERE id = %s", (import_id,)
            ).fetchone()
            if status == "running" and processed > 0 or status in ("done", "failed"):
                break
            time.sleep(0.05)
    assert status == "running", f"the import was {status} before the worker could be killed"
    killed_at = time.monotonic()
    cluster.workers["stock"].kill()
    cluster.start_worker("stock")
    final = wait_for_import(cluster, import_id, timeout=150)
    recovered = time.monotonic() - killed_at
    with db(cluster) as conn:
        done_rows, total = conn.execute(
            "SELECT processed_rows, total_rows FROM stock_import WHERE id = %s", (import_id,)
        ).fetchone()
        stock = conn.execute("SELECT stock FROM variant WHERE sku = %s", (sku,)).fetchone()[0]
    print(
        f"\nstock worker SIGKILLed at row {processed} of {total}: import {final} {recovered:.0f} s later, "
        f"{done_rows} rows processed"
    )
    assert final == "done" and done_rows == total == rows
    assert stock >= 500  # the first row's quantity (plus what is sold but not shipped)


def test_request_ids_reach_the_tasks_a_request_queued_and_metrics_add_up_across_workers(cluster):
    facts = buyer_facts(cluster)
    s = requests.Session()
    s.headers["Origin"] = cluster.url
    response = s.get(cluster.url + "/livez", timeout=30)
    rid = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)  # nginx's $request_id, kept by the node
    placed: list = []
    assert place_cod_order(cluster.url, facts, f"rid-{int(time.time())}@example.vn", placed)[0]
    order_rid = placed[-1].headers["X-Request-ID"]
    # Each node adds up its own gunicorn workers (multiprocess mode); Prometheus scrapes every node.
    placed_total = 0.0
    for i in range(2):
        metrics = requests.get(node_url(cluster, i) + "/metrics", timeout=30).text
        pattern = r'shop_http_request_duration_seconds_count\{endpoint="checkout.place"[^}]*\} (\S+)'
        placed_total += sum(float(c) for c in re.findall(pattern, metrics))
    assert placed_total >= 1
    assert 'shop_queue_depth{queue="mail"}' in metrics
    assert re.search(r'shop_heartbeat_age_seconds\{process="beat"\}', metrics)
    assert re.search(r'shop_heartbeat_age_seconds\{process="worker:mail@', metrics)
    # The mail worker's log lines for the order's e-mails name the request that placed it.
    deadline = time.monotonic() + 30
    while f'"request_id": "{order_rid}"' not in cluster.workers["mail"].log() and time.monotonic() < deadline:
        time.sleep(0.5)
    line = next(x for x in cluster.workers["mail"].log().splitlines() if order_rid in x)
    # One message for all of the order's e-mails (notifications.send_many), or .send for a single one.
    assert json.loads(line)["message"] in {
        f"notifications.{task} for request {order_rid}" for task in ("send", "send_many")
    }


def test_every_node_and_worker_reaches_postgresql_through_pgbouncer(cluster):
    """As in production: the nodes' and workers' pools are pgbouncer's clients, and only
    its server connections (20 at most, lent per transaction) reach PostgreSQL."""
    assert cluster.env["DB_PGBOUNCER"] == "1" and f":{cluster.pgbouncer.port}/" in cluster.env["DATABASE_URL"]
    assert place_cod_order(cluster.url, buyer_facts(cluster), f"pgb-{int(time.time())}@example.vn")[0]
    pools = [row for row in cluster.pgbouncer.admin("SHOW POOLS") if row["database"] == "shop"]
    assert [row["pool_mode"] for row in pools] == ["transaction"]
    stats = [row for row in cluster.pgbouncer.admin("SHOW STATS") if row["database"] == "shop"]
    assert stats and stats[0]["total_xact_count"] > 0
    with db(cluster) as conn:
        (to_shop,) = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'shop'").fetchone()
    clients = [row for row in cluster.pgbouncer.admin("SHOW CLIENTS") if row["database"] == "shop"]
    print(f"\n{len(clients)} pgbouncer clients (nodes, workers, beat) on {to_shop} PostgreSQL connections")
    assert to_shop <= 20 + 1  # pgbouncer's server connections, and this test's own
