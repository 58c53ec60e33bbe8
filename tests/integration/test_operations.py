"""What operators of many machines rely on: readiness that survives a Redis outage,
metrics (page-cache hits counted before Flask), request ids, the real client
behind trusted proxies, database settings, worker and beat heartbeats."""

import json
import logging
import re

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from shop import create_app
from shop.accounts.services import create_user
from shop.cache import make_shared_cache
from shop.catalog.index import catalog_index
from shop.database import engine_options, normalise_url
from shop.extensions import db
from shop.health.heartbeats import beat_once
from shop.logcontext import request_id_var
from shop.observability import JsonFormatter
from tests.support.factories import make_product
from tests.support.servers import ROOT, free_port

PASSWORD = "mat-khau-an-toan-1"


def test_every_postgresql_spelling_means_psycopg_3():
    assert normalise_url("postgres://u:p@db:5432/shop") == "postgresql+psycopg://u:p@db:5432/shop"
    assert normalise_url("postgresql://u@db/shop?sslmode=require") == "postgresql+psycopg://u@db/shop?sslmode=require"
    assert normalise_url("postgresql+psycopg://u@db/shop") == "postgresql+psycopg://u@db/shop"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_pool_timeout_and_pgbouncer_settings_reach_the_engine():
    options = engine_options(
        {"DB_POOL_SIZE": 3, "DB_MAX_OVERFLOW": 2, "DB_POOL_RECYCLE": 600, "DB_STATEMENT_TIMEOUT_MS": 1500},
        "postgresql+psycopg://u@db/shop",
    )
    assert (options["pool_size"], options["max_overflow"], options["pool_recycle"]) == (3, 2, 600)
    assert options["connect_args"]["options"] == "-c statement_timeout=1500"
    bouncer = engine_options({"DB_PGBOUNCER": True, "DB_STATEMENT_TIMEOUT_MS": 1500}, "postgresql+psycopg://u@b/s")
    assert bouncer["connect_args"]["prepare_threshold"] is None and "options" not in bouncer["connect_args"]
    assert "pool_size" not in engine_options({}, "sqlite:///x.db")


@pytest.mark.postgres
def test_a_postgres_url_and_a_statement_timeout_work_on_a_real_server(postgres_server):
    url = postgres_server.create_database("ops_url").replace("postgresql+psycopg://", "postgres://")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, DB_STATEMENT_TIMEOUT_MS=200, DB_PGBOUNCER=False)
    with app.app_context():
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "200ms"
        with pytest.raises(Exception, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(2)"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    bouncer = create_app("testing", SQLALCHEMY_DATABASE_URI=url, DB_PGBOUNCER=True)
    with bouncer.app_context():
        # No server-side prepared statements, however often the same query runs.
        for _ in range(8):
            db.session.execute(text("SELECT 1 WHERE 1 = :n"), {"n": 1})
        assert db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_the_catalog_index_loads_from_the_replica_when_one_is_set(postgres_server, postgres_template):
    primary = postgres_server.create_database("ops_primary", template=postgres_template)
    replica = postgres_server.create_database("ops_replica", template=postgres_template)
    on_replica = create_app("testing", SQLALCHEMY_DATABASE_URI=replica)
    with on_replica.app_context():
        only_there = make_product("Chỉ có ở bản sao").id  # a row only the replica has shows where the load read
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=primary, DATABASE_REPLICA_URL=replica)
    with app.test_request_context("/san-pham"):
        assert only_there in catalog_index().ids
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def test_liveness_never_asks_a_dependency_and_readiness_survives_redis_down(app):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    client = app.test_client()
    assert client.get("/livez").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 200 and body["status"] == "degraded"
    assert body["database"]["ok"] and not body["redis"]["ok"]


def test_a_node_without_its_database_is_not_ready(tmp_path):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_page_cache_hits_served_before_flask_and_latency_per_endpoint(app, redis_server):
    app.config.update(PAGE_CACHE_SECONDS=300, REDIS_URL=redis_server.url)
    app.extensions["shared_cache"] = make_shared_cache(app.config)
    app.extensions["shared_cache"].store.clear()
    make_product("Mật ong hoa nhãn")
    db.session.commit()
    hits = _sample("shop_page_cache_lookups_total", result="hit")
    misses = _sample("shop_page_cache_lookups_total", result="miss")
    listing = {"endpoint": "catalog.listing", "method": "GET", "status": "200"}
    rendered = _sample("shop_http_request_duration_seconds_count", **listing)
    client = app.test_client()
    first, second = client.get("/san-pham"), client.get("/san-pham")
    assert first.headers.get("X-Cache") != "HIT" and second.headers["X-Cache"] == "HIT"
    assert _sample("shop_page_cache_lookups_total", result="hit") == hits + 1
    assert _sample("shop_page_cache_lookups_total", result="miss") == misses + 1
    assert _sample("shop_http_request_duration_seconds_count", **listing) == rendered + 1
    exposed = client.get("/metrics").get_data(as_text=True)
    assert 'shop_page_cache_lookups_total{result="hit"}' in exposed
    assert re.search(r'^shop_queue_depth\{queue="mail"\} \d+\.0$', exposed, re.M)  # what earlier tests left queued
    assert re.search(r"^shop_outbox_backlog \d+\.0$", exposed, re.M)


def test_metrics_can_require_a_token(app):
    app.config["METRICS_TOKEN"] = "s3cret"
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_request_id_from_the_proxy_is_kept_and_one_is_made_otherwise(app):
    client = app.test_client()
    given = client.get("/livez", headers={"X-Request-ID": "abc123def456"})
    assert given.headers["X-Request-ID"] == "abc123def456"
    made = client.get("/livez", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_id():
    token = request_id_var.set("req-0001")
    try:
        record = logging.LogRecord("shop.orders", logging.INFO, __file__, 1, "đã đặt đơn %s", (42,), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "đã đặt đơn 42" and line["request_id"] == "req-0001" and line["level"] == "INFO"


def test_sign_in_limits_count_the_real_client_behind_a_trusted_proxy(sqlite_template, tmp_path):
    import shutil

    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'db.sqlite'}",
        MEDIA_DIR=str(tmp_path / "media"),
        RATELIMIT_ENABLED=True,
        PROXY_FIX_HOPS=1,
        LOGIN_LIMIT_PER_IP="3 per minute",
    )
    client = app.test_client()

    def attempt(client_ip: str, spoofed: str = "") -> int:
        forwarded = f"{spoofed}, {client_ip}" if spoofed else client_ip
        return client.post(
            "/tai-khoan/dang-nhap",
            data={"email": "ai@example.vn", "password": "sai-mat-khau"},
            headers={"X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).status_code

    assert [attempt("203.0.113.7") for _ in range(3)] == [200, 200, 200]
    assert attempt("203.0.113.7") == 429
    # Another shopper behind the same proxy is not limited by the first one...
    assert attempt("198.51.100.9") == 200
    # ...and a client cannot escape its limit by sending its own X-Forwarded-For.
    assert attempt("203.0.113.7", spoofed="192.0.2.1") == 429


def test_the_console_shows_worker_and_beat_heartbeats_and_a_missing_beat(app, redis_server):
    app.config["REDIS_URL"] = redis_server.url
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    create_user("vanhanh@example.vn", "operator", PASSWORD)
    client = app.test_client()
    assert client.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": PASSWORD}).status_code
    beat_once(redis_server.url, "worker:mail@node-a", "worker", ["default", "mail"])
    page = client.get("/ops/").get_data(as_text=True)
    assert "worker:mail@node-a" in page and "default, mail" in page
    assert "Không thấy tiến trình lập lịch (beat)" in page
    assert "Không có worker nào phục vụ hàng đợi: stock." in page
    beat_once(redis_server.url, "beat", "beat", [])
    beat_once(redis_server.url, "worker:stock@node-b", "worker", ["stock"])
    page = client.get("/ops/").get_data(as_text=True)
    assert "Không thấy tiến trình lập lịch" not in page and "Không có worker nào phục vụ" not in page


SENTRY_SCRIPT = r"""
import sys
import sentry_sdk
from shop import create_app

from flask_migrate import upgrade

app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite:///" + sys.argv[2], SENTRY_DSN=sys.argv[1],
                 SENTRY_ENVIRONMENT="ci", MEDIA_DIR=sys.argv[3])
with app.app_context():
    upgrade()

@app.get("/boom")
def boom():
    return 1 // 0

response = app.test_client().get("/boom", headers={"X-Request-ID": "sentry-req-0042"})
sentry_sdk.flush(timeout=10)
print(response.status_code)
"""


def test_an_unhandled_error_reaches_sentry_with_its_request_id_when_a_dsn_is_set(tmp_path):
    """A real HTTP peer on loopback plays Sentry's ingest; the app runs in its own process
    (sentry_sdk.init is process-wide)."""
    import gzip
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[bytes] = []

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            elif self.headers.get("Content-Encoding") == "br":
                import brotli

                body = brotli.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
        done = subprocess.run(
            [sys.executable, "-c", SENTRY_SCRIPT, dsn, str(tmp_path / "db.sqlite"), str(tmp_path / "media")],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.stdout.strip().endswith("500"), done.stderr[-2000:]
    events = b"".join(received).decode(errors="replace")
    assert "ZeroDivisionError" in events and "sentry-req-0042" in events and '"environment":"ci"' in events
