"""The shop behind a real pgbouncer in transaction pool mode, as production runs it:
Debian's pgbouncer in front of the suite's PostgreSQL with 4 server connections
shared by every client, so each transaction may land on another server connection.
With DB_PGBOUNCER on, migrations, catalog pages, concurrent COD checkouts (the last
jar; six-line orders), a stock import and the e-mail outbox run by a real Celery
worker all work through it.

Without the setting it breaks, for two reasons shown here. psycopg 3 prepares a
statement on the server at its sixth run on one connection (its counts start again at
each rollback, so this happens within one request or task, or over committed
transactions); under transaction pooling the name then exists on a server connection
that another client is lent next (`prepared statement "_pg3_0" already exists`), or
is missing from the one the same client gets next (`… does not exist`). And the
statement timeout's start-up option is refused outright. (How often the prepared
statements fail in the app's own flows depends on timing and on each connection's
history: in a four-shopper checkout run here 0 to 11 of 12 orders failed, so the
test of the failure drives two connections directly.)"""

import io
import itertools
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from shop import create_app
from shop.catalog.models import Product, Variant
from shop.catalog.queries import get_product
from shop.checkout.services import place_order
from shop.devstack import worker_command
from shop.extensions import db
from shop.inventory import import_services
from shop.inventory.models import StockImport
from shop.localservers import PgBouncer
from shop.notifications.models import OutboxEmail
from shop.orders.models import Order
from shop.reference import load_reference_data
from tests.support.checkout import review_form
from tests.support.factories import cart_with, delivery_to, make_producer, make_product
from tests.support.mail import LocalSmtpServer
from tests.support.servers import ROOT, RedisServer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists(),
        reason="pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)",
    ),
]

SERVER_CONNECTIONS = 4
_databases = itertools.count()


@pytest.fixture(scope="module")
def bouncer(postgres_server):
    # Not under pytest's 0700 folder: pgbouncer runs as the postgres user when we are root.
    base = Path(tempfile.mkdtemp(prefix="ocop-pgbouncer-"))
    server = PgBouncer(base, postgres_server, pool_size=SERVER_CONNECTIONS).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def through(bouncer: PgBouncer, dbname: str, folder: Path, **settings):
    settings.setdefault("DB_PGBOUNCER", True)
    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=bouncer.url(dbname),
        MEDIA_DIR=str(folder / "media"),
        STOCK_IMPORT_DIR=str(folder / "stock-imports"),
        **settings,
    )


def close(application) -> None:
    db.session.remove()
    db.engine.dispose()


def queries_through(bouncer: PgBouncer, dbname: str) -> int:
    """How many queries pgbouncer has passed on for `dbname` (proof the traffic went through it)."""
    rows = [row for row in bouncer.admin("SHOW STATS") if row["database"] == dbname]
    return int(sum(row["total_query_count"] for row in rows))


@dataclass(frozen=True)
class Migrated:
    name: str
    queries: int  # what pgbouncer passed on while migrating


@pytest.fixture(scope="module")
def migrated(bouncer, postgres_server, tmp_path_factory) -> Migrated:
    """An empty database migrated through pgbouncer (every Alembic revision, then the
    reference data), the template each test copies."""
    name = "pgbouncer_template"
    postgres_server.create_database(name)
    application = through(bouncer, name, tmp_path_factory.mktemp("pgbouncer-template"))
    with application.app_context():
        upgrade()
        load_reference_data()
        close(application)
    done = Migrated(name, queries_through(bouncer, name))
    bouncer.admin(f"KILL {name}")  # its idle server connections: CREATE DATABASE … TEMPLATE needs none
    return done


@pytest.fixture
def app(bouncer, postgres_server, migrated, tmp_path):
    name = f"pgbouncer_{next(_databases)}"
    postgres_server.create_database(name, template=migrated.name)
    application = through(bouncer, name, tmp_path)
    ctx = application.app_context()
    ctx.push()
    yield application
    close(application)
    ctx.pop()


def database_of(application) -> str:
    return application.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]


def test_the_migrations_ran_through_pgbouncer_in_transaction_mode(app, bouncer, migrated):
    assert migrated.queries > 100  # every revision, the reference data
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head
    assert db.session.scalar(text("SELECT count(*) FROM province")) == 34
    modes = {row["pool_mode"] for row in bouncer.admin("SHOW POOLS") if row["database"] == database_of(app)}
    assert modes == {"transaction"}


def test_catalog_pages_from_many_shoppers_at_once(app, bouncer):
    names = ["Mật ong Hoa Rừng", "Trà xanh Tân Cương", "Gạo nếp cái hoa vàng"]
    slugs = [make_product(name, prices=(120_000,), stock=5).slug for name in names]
    dbname = database_of(app)
    before = queries_through(bouncer, dbname)
    close(app)
    pages = ["/", "/san-pham", "/san-pham?q=mat+ong", *(f"/san-pham/{slug}" for slug in slugs)]

    def browse(_: int) -> list[tuple[str, int, bool]]:
        client = app.test_client()
        seen = []
        for _round in range(2):
            for page in pages:
                response = client.get(page)
                body = response.get_data(as_text=True)
                seen.append((page, response.status_code, page == "/" or any(name in body for name in names)))
        return seen

    with ThreadPoolExecutor(6) as pool:  # 6 shoppers on 4 server connections
        answers = [seen for shopper in pool.map(browse, range(6)) for seen in shopper]
    assert len(answers) == 6 * 2 * len(pages)
    assert [a for a in answers if a[1] != 200 or not a[2]] == []
    assert queries_through(bouncer, dbname) - before >= len(answers)


def test_shoppers_racing_for_the_last_jar_get_one_order(app, bouncer):
    shoppers = 6
    jar = make_product("Mật ong Hoa Rừng", prices=(180_000,), stock=shoppers)
    variant_id = jar.variants[0].id
    clients = [app.test_client() for _ in range(shoppers)]
    forms = [{**review_form(client, variant_id, quantity=1), "payment_method": "cod"} for client in clients]
    db.session.get(Variant, variant_id).stock = 1  # the others sold meanwhile: one jar left for six shoppers
    db.session.commit()
    close(app)

    start = threading.Barrier(shoppers)

    def place(i: int) -> tuple[int, str]:
        start.wait(30)
        response = clients[i].post("/thanh-toan/dat-hang", data=forms[i])
        return response.status_code, response.headers.get("Location", "")

    with ThreadPoolExecutor(shoppers) as pool:  # 6 shoppers on 4 server connections
        answers = list(pool.map(place, range(shoppers)))
    placed = [location for status, location in answers if status == 303 and "/don-hang/" in location]
    sold_out = [location for status, location in answers if status == 303 and location.endswith("/gio-hang")]
    assert (len(placed), len(sold_out)) == (1, shoppers - 1), answers
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert db.session.get(Variant, variant_id).stock == 0


def test_a_worker_behind_pgbouncer_imports_stock_and_sends_the_outbox(app, bouncer, tmp_path):
    redis, smtp = RedisServer().start(), LocalSmtpServer().start()
    env = {
        **os.environ,
        "SHOP_INSTANCE_DIR": str(tmp_path / "worker"),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://"),
        "DB_PGBOUNCER": "1",
        "STOCK_IMPORT_DIR": app.config["STOCK_IMPORT_DIR"],
        "REDIS_URL": redis.url,
        "SECRET_KEY": "pgbouncer-test",
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": str(smtp.port),
        "MAIL_USE_TLS": "0",
        "PAGE_CACHE_SECONDS": "0",
    }
    app.config.update(REDIS_URL=redis.url)
    (tmp_path / "worker").mkdir()
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(worker_command(2), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        producer = make_producer("HTX ong Phong Thổ")
        producer.email = "lienhe@ongphongtho.example.vn"
        db.session.commit()
        products = [make_product(f"Mật ong {n}", producer=producer, stock=20) for n in range(3)]
        skus = [p.variants[0].sku for p in products]
        rows = 2_500  # three chunks of 1,000 rows, each in its own transaction
        lines = [f"{sku},{40 + n},\n" for n, sku in enumerate(skus)]
        lines += [f"KHONG-CO-{n},1,\n" for n in range(rows - len(skus))]  # unknown SKUs: refused, each said why
        upload = import_services.create_upload(
            producer.id, None, "ton-kho.csv", io.BytesIO(("sku,quantity,price\n" + "".join(lines)).encode())
        )
        import_id = upload.stock_import.id

        for product in products:  # three COD orders by three shoppers: six e-mails (shopper and producer each)
            client = app.test_client()
            form = {**review_form(client, product.variants[0].id, quantity=1), "payment_method": "cod"}
            assert client.post("/thanh-toan/dat-hang", data=form).status_code == 303

        smtp.wait_for(6, timeout=45)
        deadline = time.monotonic() + 45
        while db.session.get(StockImport, import_id).status not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.3)
            db.session.rollback()
        imp = db.session.get(StockImport, import_id)
        assert (imp.status, imp.processed_rows, imp.applied, imp.rejected) == ("done", rows, 3, rows - 3), (
            log_path.read_text()[-3000:]
        )
        # Stock on hand from the file, less the jar each shopper bought (whichever came first).
        assert [db.session.get(Variant, p.variants[0].id).stock for p in products] == [39, 40, 41]
        # The worker marks a row sent in the commit after the SMTP server took the message.
        deadline = time.monotonic() + 30
        while True:
            db.session.rollback()
            sent = db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.sent_at.is_not(None)))
            if sent >= 6 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (sent, len(smtp.messages)) == (6, 6), [(str(m["To"]), str(m["Subject"])) for m in smtp.messages]
    finally:
        worker.terminate()
        worker.wait(20)
        smtp.stop()
        redis.stop()
    assert "prepared statement" not in log_path.read_text()


def test_orders_of_six_lines_from_four_shoppers_at_once(app, bouncer):
    """Each order runs the same stock update six times in one transaction, and the
    shoppers' transactions hop between pgbouncer's server connections."""
    producer = make_producer("HTX ong Phong Thổ")
    variant_ids = [make_product(f"Mật ong {n}", producer=producer, stock=100).variants[0].id for n in range(6)]
    close(app)

    def shopper(_: int) -> list[str]:
        numbers = []
        for _order in range(3):
            with app.app_context():
                cart = cart_with(*((db.session.get_one(Variant, v), 1) for v in variant_ids))
                order = place_order(
                    cart_id=cart,
                    user_id=None,
                    delivery=delivery_to(),
                    payment_method="cod",
                    checkout_key=secrets.token_urlsafe(12),
                )
                numbers.append(order.number)
                db.session.remove()
        return numbers

    with ThreadPoolExecutor(4) as pool:
        placed = [number for numbers in pool.map(shopper, range(4)) for number in numbers]
    assert len(set(placed)) == 12
    assert db.session.scalar(select(func.count(Order.id))) == 12
    assert {db.session.get_one(Variant, v).stock for v in variant_ids} == {100 - 12}


def read_product_again_and_again(connection, slug: str, times: int = 6) -> None:
    """The product page's query, each run in a transaction of its own (as requests do)."""
    for _ in range(times):
        connection.execute(select(Product.id).where(Product.slug == slug)).one()
        connection.commit()


def test_without_the_setting_prepared_statements_break_on_a_shared_server_connection(app, bouncer, tmp_path):
    slug = make_product("Mật ong Hoa Rừng").slug
    dbname = database_of(app)
    close(app)
    for pgbouncer_setting, fails in ((False, True), (True, False)):
        other = through(bouncer, dbname, tmp_path, DB_PGBOUNCER=pgbouncer_setting)
        with other.app_context():
            # Two connections of one process's pool (two requests at once). The first
            # prepares the product query at its sixth run, on the server connection
            # pgbouncer lends it; the second is lent that same server connection when its
            # own sixth run prepares under the same name.
            with db.engine.connect() as first, db.engine.connect() as second:
                read_product_again_and_again(first, slug)
                if fails:
                    with pytest.raises(ProgrammingError, match=r'prepared statement "_pg3_0" already exists'):
                        read_product_again_and_again(second, slug)
                else:
                    read_product_again_and_again(second, slug)
                    assert get_product(slug) is not None
            close(other)


def test_without_the_setting_the_statement_timeout_option_is_refused(app, bouncer, tmp_path):
    dbname = database_of(app)
    close(app)
    refused = through(bouncer, dbname, tmp_path, DB_PGBOUNCER=False, DB_STATEMENT_TIMEOUT_MS=1500)
    with refused.app_context():
        with pytest.raises(OperationalError, match="unsupported startup parameter: options"):
            db.session.execute(text("SELECT 1"))
        close(refused)
    kept = through(bouncer, dbname, tmp_path, DB_PGBOUNCER=True, DB_STATEMENT_TIMEOUT_MS=1500)
    with kept.app_context():  # the option is not sent: set the timeout on the role instead
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        close(kept)
