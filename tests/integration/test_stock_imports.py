"""Stock files uploaded in the portal and feeds pulled from a producer's server
(a real local HTTP server), processed by the import service and, once, by the
worker's task function; the report, the sync log, and the limits on size."""

import contextlib
import io
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from shop.accounts.services import create_user
from shop.catalog.models import Variant
from shop.errors import ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.inventory import feed_services, import_files, import_queries, import_services
from shop.inventory.models import ProducerFeed, StockImport
from shop.partners import services as partners
from shop.partners.models import WebhookDelivery
from shop.storage import IMPORTS, storage
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import cart_with, delivery_to, make_producer, make_product
from tests.support.servers import free_port


@pytest.fixture
def shop(app, tmp_path):
    app.config["STOCK_IMPORT_DIR"] = str(tmp_path / "stock-imports")
    mine = make_producer("HTX ong Phong Thổ")
    other = make_producer("HTX chè Tân Cương")
    honey = make_product("Mật ong", producer=mine, prices=(95_000, 180_000), stock=(10, 4))
    tea = make_product("Trà", producer=other, prices=(120_000,), stock=10)
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=mine.slug)
    create_user("che@example.vn", "producer", PASSWORD, producer_slug=other.slug)
    return {
        "mine": mine.id,
        "other": other.id,
        "small": honey.variants[0].sku,
        "big": honey.variants[1].sku,
        "tea": tea.variants[0].sku,
    }


def stock_of(sku: str) -> tuple[int, int]:
    db.session.rollback()
    v = db.session.scalars(select(Variant).where(Variant.sku == sku)).one()
    return v.stock, v.price


def upload(producer_id: int, text: str, name: str = "ton-kho.csv") -> import_services.Upload:
    return import_services.create_upload(producer_id, None, name, io.BytesIO(text.encode("utf-8")))


def post_file(client, content: bytes, name: str = "ton-kho.csv"):
    return client.post(
        "/producer/nhap-kho", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


# --- processing -----------------------------------------------------------------------------


def test_an_uploaded_file_sets_stock_on_hand_and_prices(app, shop):
    cart = cart_with((db.session.scalars(select(Variant).where(Variant.sku == shop["small"])).one(), 2))
    from shop.checkout.services import place_order

    place_order(cart_id=cart, user_id=None, delivery=delivery_to(), payment_method="cod", checkout_key="k1")
    result = upload(shop["mine"], f"sku,quantity,price\n{shop['small']},20,\n{shop['big']},4,175.000\n")
    imp = result.stock_import
    assert (result.duplicate, imp.status, imp.total_rows) == (False, "queued", 2)
    assert import_services.process_import(imp.id) == "done"
    assert stock_of(shop["small"]) == (18, 95_000)  # 20 on hand, 2 sold
    assert stock_of(shop["big"]) == (4, 175_000)
    imp = db.session.get(StockImport, imp.id)
    assert (imp.processed_rows, imp.applied, imp.unchanged, imp.rejected) == (2, 2, 0, 0)
    assert imp.finished_at is not None


def test_every_refused_row_says_why(app, shop):
    text = "\n".join(
        [
            "sku,quantity",
            f"{shop['small']},5",
            f"{shop['big']},-3",
            f"{shop['big']},nhiều",
            "KHONG-CO,1",
            f"{shop['tea']},9",
            "\"=cmd|' /C calc'!A0\",1",
            f"{shop['small']},6",
            f"{shop['big']},4",
            f"{shop['big']},1,2",
        ]
    )
    imp = upload(shop["mine"], text).stock_import
    import_services.process_import(imp.id)
    imp = db.session.get(StockImport, imp.id)
    report = {r.row: (r.status, r.code, r.n) for r in import_queries.report_rows(imp)}
    assert report == {
        2: ("applied", None, None),
        3: ("rejected", "negative_quantity", None),
        4: ("rejected", "bad_quantity", None),
        5: ("rejected", "unknown_sku", None),
        6: ("rejected", "other_producer", None),
        7: ("rejected", "formula", None),
        8: ("rejected", "duplicate_sku", 2),
        9: ("unchanged", None, None),
        10: ("rejected", "too_many_columns", None),
    }
    assert (imp.applied, imp.unchanged, imp.rejected) == (1, 1, 7)
    assert stock_of(shop["tea"])[0] == 10
    formula_row = next(r for r in import_queries.report_rows(imp) if r.row == 7)
    assert formula_row.sku.startswith("'=")
    assert "\n7,'=cmd" in import_queries.report_csv(imp)


def test_rows_below_what_is_sold_are_refused_and_the_rest_applied(app, shop):
    from shop.checkout.services import place_order

    cart = cart_with((db.session.scalars(select(Variant).where(Variant.sku == shop["big"])).one(), 3))
    place_order(cart_id=cart, user_id=None, delivery=delivery_to(), payment_method="cod", checkout_key="k2")
    imp = upload(shop["mine"], f"sku,quantity\n{shop['big']},1\n{shop['small']},0\n").stock_import
    import_services.process_import(imp.id)
    rows = import_queries.report_rows(db.session.get(StockImport, imp.id))
    assert [(r.status, r.reason) for r in rows] == [
        ("rejected", "đang có 3 sản phẩm đã bán chưa giao"),
        ("applied", None),
    ]
    assert (stock_of(shop["big"])[0], stock_of(shop["small"])[0]) == (1, 0)


def test_a_large_file_is_processed_in_chunks_and_a_second_run_does_nothing(app, shop, monkeypatch):
    from worker.tasks import process_import

    monkeypatch.setattr(import_services, "CHUNK", 2)
    partners.add_webhook("Siêu thị Xanh", "http://127.0.0.1:9/none")
    lines = ["sku,quantity"] + [f"{shop['small']},{n}" if n == 0 else f"NONE-{n},1" for n in range(5)]
    imp = upload(shop["mine"], "\n".join(lines)).stock_import
    assert process_import(imp.id) == "done"  # the worker's task function, run here
    after_first = (db.session.scalar(select(func.count(WebhookDelivery.id))), stock_of(shop["small"]))
    assert process_import(imp.id) == "done"
    assert (db.session.scalar(select(func.count(WebhookDelivery.id))), stock_of(shop["small"])) == after_first
    imp = db.session.get(StockImport, imp.id)
    assert (imp.processed_rows, imp.applied, imp.rejected) == (5, 1, 4)
    assert len(import_queries.report_rows(imp)) == 5


def test_a_run_that_died_midway_is_resumed_without_repeating_a_row(app, shop, monkeypatch):
    monkeypatch.setattr(import_services, "CHUNK", 2)
    lines = ["sku,quantity", f"{shop['small']},1", "A,1", "B,1", f"{shop['small']},2", "C,1"]
    imp = upload(shop["mine"], "\n".join(lines)).stock_import
    real, calls = import_services._apply_chunk, []

    def dies_on_the_second_chunk(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args)

    monkeypatch.setattr(import_services, "_apply_chunk", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        import_services.process_import(imp.id)
    db.session.rollback()
    assert (db.session.get(StockImport, imp.id).status, db.session.get(StockImport, imp.id).processed_rows) == (
        "running",
        2,
    )
    monkeypatch.setattr(import_services, "_apply_chunk", real)
    assert import_services.process_import(imp.id) == "done"
    rows = import_queries.report_rows(db.session.get(StockImport, imp.id))
    assert [r.row for r in rows] == [2, 3, 4, 5, 6]
    assert (rows[3].status, rows[3].code, rows[3].n) == ("rejected", "duplicate_sku", 2)  # seen before the crash
    assert stock_of(shop["small"])[0] == 1


def test_the_same_file_uploaded_again_soon_is_not_imported_twice(app, shop):
    text = f"sku,quantity\n{shop['small']},3\n"
    first = upload(shop["mine"], text)
    again = upload(shop["mine"], text)
    assert again.duplicate and again.stock_import.id == first.stock_import.id
    assert db.session.scalar(select(func.count(StockImport.id))) == 1


def test_a_fixed_file_uploaded_again_sets_the_quantities_it_does_not_add_them(app, shop):
    first = upload(shop["mine"], f"sku,quantity\n{shop['small']},3\n{shop['big']},-1\n").stock_import
    import_services.process_import(first.id)
    fixed = upload(shop["mine"], f"sku,quantity\n{shop['small']},3\n{shop['big']},1\n").stock_import
    import_services.process_import(fixed.id)
    assert (stock_of(shop["small"])[0], stock_of(shop["big"])[0]) == (3, 1)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("ma_hang,so_luong\nA,1\n", "sku,quantity,price"),
        ("sku,quantity\n" + "A,1\n" * 20_001, "20.000"),
        ("", "trống"),
    ],
)
def test_a_file_that_cannot_be_used_is_refused_whole_and_nothing_is_queued(app, shop, content, words):
    with pytest.raises(import_files.ImportRefused) as caught:
        upload(shop["mine"], content)
    assert words in caught.value.message
    assert db.session.scalar(select(func.count(StockImport.id))) == 0
    assert not list(storage().keys(IMPORTS))


# --- the portal ------------------------------------------------------------------------------------


def test_the_portal_upload_shows_progress_then_the_report(client, shop):
    sign_in(client, "ong@example.vn")
    page = client.get("/producer/nhap-kho")
    assert page.status_code == 200 and "sku,quantity,price" in page.get_data(as_text=True)
    response = post_file(client, f"\ufeffsku,quantity\n{shop['small']},2\nKHONG-CO,1\n".encode())
    assert response.status_code == 302
    report_url = response.location
    queued = client.get(report_url).get_data(as_text=True)
    assert "<progress" in queued and "Làm mới trang" in queued
    status_url = report_url + "/trang-thai"
    assert client.get(status_url).get_json() | {"id": 0} == {
        "id": 0,
        "status": "queued",
        "status_label": "Đang chờ",
        "processed_rows": 0,
        "total_rows": 2,
        "percent": 0,
        "applied": 0,
        "unchanged": 0,
        "rejected": 0,
        "finished": False,
    }
    import_id = int(report_url.rstrip("/").split("/")[-1])
    import_services.process_import(import_id)
    status = client.get(status_url).get_json()
    assert (status["finished"], status["percent"], status["applied"], status["rejected"]) == (True, 100, 1, 1)
    report = client.get(report_url).get_data(as_text=True)
    assert "KHONG-CO" in report and "không có SKU này" in report and "<progress" not in report
    csv_report = client.get(report_url + "/bao-cao.csv")
    assert csv_report.mimetype == "text/csv" and "KHONG-CO" in csv_report.get_data(as_text=True)
    log = client.get("/producer/nhat-ky-dong-bo").get_data(as_text=True)
    assert "ton-kho.csv" in log and "1 cập nhật" in log


def test_the_portal_says_already_imported_and_links_the_report(client, shop):
    sign_in(client, "ong@example.vn")
    content = f"sku,quantity\n{shop['small']},2\n".encode()
    first = post_file(client, content)
    again = post_file(client, content)
    assert again.location == first.location
    page = client.get(again.location).get_data(as_text=True)
    assert "đã được nhập lúc nãy" in page


def test_a_file_with_wrong_columns_is_refused_with_the_expected_header_shown(client, shop):
    sign_in(client, "ong@example.vn")
    response = post_file(client, b"ma,sl\nA,1\n")
    assert response.status_code == 400
    assert "“sku,quantity,price”" in response.get_data(as_text=True)


def test_a_file_over_5_mb_is_refused(client, shop):
    sign_in(client, "ong@example.vn")
    content = b"sku,quantity\n" + b"A,1\n" * (6 * 1024 * 1024 // 4)
    # Encoded here, in memory: the test client would spool it to a temporary file that
    # nobody closes when the server refuses without reading.
    body = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--x--\r\n"
    )
    response = client.post(
        "/producer/nhap-kho", input_stream=io.BytesIO(body), content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert "5 MB" in response.get_data(as_text=True)
    assert not list(storage().keys(IMPORTS))


def test_a_100_mb_upload_is_refused_from_its_length_without_being_read(client, shop):
    sign_in(client, "ong@example.vn")

    class Untouchable(io.RawIOBase):
        """100 MB as far as anyone measuring it can tell; reading any of it fails the test."""

        size, position, read_bytes = 100 * 1024 * 1024, 0, 0

        def readable(self):
            return True

        def seekable(self):
            return True

        def seek(self, offset, whence=0):
            self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
            return self.position

        def tell(self):
            return self.position

        def readinto(self, buffer):
            Untouchable.read_bytes += len(buffer)
            raise AssertionError("the body was read")

    response = client.post(
        "/producer/nhap-kho", input_stream=Untouchable(), content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert Untouchable.read_bytes == 0


def test_a_file_between_the_declared_limit_and_5_mb_is_stopped_while_streaming(app, shop):
    big = b"sku,quantity\n" + b"A,1\n" * (import_files.MAX_BYTES // 4)
    with pytest.raises(import_files.ImportRefused) as caught:
        import_services.create_upload(shop["mine"], None, "big.csv", io.BytesIO(big))
    assert "5 MB" in caught.value.message
    assert not list(storage().keys(IMPORTS))


def test_another_producers_import_is_not_found(client, shop):
    theirs = upload(shop["other"], f"sku,quantity\n{shop['tea']},1\n").stock_import
    sign_in(client, "ong@example.vn")
    assert client.get(f"/producer/nhap-kho/{theirs.id}").status_code == 404
    assert client.get(f"/producer/nhap-kho/{theirs.id}/trang-thai").status_code == 404
    assert client.get(f"/producer/nhap-kho/{theirs.id}/bao-cao.csv").status_code == 404


# --- feeds, against a local HTTP server ---------------------------------------------------------------


class FeedServer:
    """A producer's server on 127.0.0.1 serving a good CSV, JSON, an HTML page, a
    response that never comes, and a body over the size limit."""

    def __init__(self):
        self.hits: list[str] = []
        self.csv = self.json = b""
        self.dripped_to_the_end = False
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's hook name
                feeds.hits.append(self.path)
                if self.path == "/hang.csv":
                    time.sleep(3)
                    return self._send(b"sku,quantity\n", "text/csv")
                if self.path == "/big.csv":
                    return self._send(b"sku,quantity\n" + b"A,1\n" * (6 * 1024 * 1024 // 4), "text/csv")
                if self.path == "/big-unsized.csv":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/csv")
                    self.end_headers()
                    self.wfile.write(b"sku,quantity\n")
                    for _ in range(6 * 16):
                        self.wfile.write(b"A,1\n" * (64 * 1024 // 4))
                    return None
                if self.path == "/drip.csv":
                    # A byte every 0.2 s for 30 s, no Content-Length: each read is quick, the whole is not.
                    self.send_response(200)
                    self.send_header("Content-Type", "text/csv")
                    self.end_headers()
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(b"sku,quantity\n")
                        for _ in range(150):
                            self.wfile.write(b"#")
                            self.wfile.flush()
                            time.sleep(0.2)
                        feeds.dripped_to_the_end = True
                    return None
                if self.path == "/drip-headers.csv":
                    # The status line, then a header a byte every 0.2 s for 30 s: no read ever waits long.
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                        for _ in range(150):
                            self.wfile.write(b"a")
                            self.wfile.flush()
                            time.sleep(0.2)
                        feeds.dripped_to_the_end = True
                    self.close_connection = True
                    return None
                if self.path == "/page.html":
                    return self._send(b"<!doctype html><title>Dang nhap</title>", "text/html; charset=utf-8")
                if self.path == "/moved.csv":
                    self.send_response(302)
                    self.send_header("Location", "/good.csv")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if self.path == "/good.json":
                    return self._send(feeds.json, "application/json")
                if self.path == "/good.csv":
                    return self._send(feeds.csv, "text/csv; charset=utf-8")
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

            def _send(self, body: bytes, content_type: str):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def feed_server(app):
    app.config.update(FEED_ALLOW_PRIVATE_HOSTS=True, FEED_TIMEOUT_SECONDS=1.0)
    server = FeedServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def feed(producer_id: int, url: str) -> int:
    return feed_services.save_feed(producer_id, url, 60, True).id


def last_import(producer_id: int) -> StockImport:
    db.session.rollback()
    return db.session.scalars(
        select(StockImport).where(StockImport.producer_id == producer_id).order_by(StockImport.id.desc())
    ).first()


def test_a_good_csv_feed_is_applied_like_an_upload(app, shop, feed_server):
    feed_server.csv = f"sku,quantity,price\n{shop['small']},12,99000\n".encode()
    feed_id = feed(shop["mine"], feed_server.url("/good.csv"))
    assert feed_services.pull_feed(feed_id) == "applied"
    assert stock_of(shop["small"]) == (12, 99_000)
    imp = last_import(shop["mine"])
    assert (imp.source, imp.status, imp.applied) == ("feed", "done", 1)
    assert db.session.get(ProducerFeed, feed_id).last_status == "ok"


def test_a_good_json_feed_is_applied(app, shop, feed_server):
    feed_server.json = json.dumps({"items": [{"sku": shop["big"], "quantity": 2, "price": 170000}]}).encode()
    feed_id = feed(shop["mine"], feed_server.url("/good.json"))
    assert feed_services.pull_feed(feed_id) == "applied"
    assert stock_of(shop["big"]) == (2, 170_000)
    assert db.session.get(ProducerFeed, feed_id).format == "json"


def test_an_unchanged_feed_is_not_applied_again(app, shop, feed_server):
    feed_server.csv = f"sku,quantity\n{shop['small']},12\n".encode()
    feed_id = feed(shop["mine"], feed_server.url("/good.csv"))
    now = utcnow()
    assert feed_services.pull_feed(feed_id, now) == "applied"
    assert feed_services.pull_feed(feed_id, now + timedelta(minutes=61)) == "unchanged"
    assert db.session.scalar(select(func.count(StockImport.id))) == 1


def test_a_feed_that_hangs_times_out_and_the_error_is_in_the_log(app, shop, feed_server):
    feed_id = feed(shop["mine"], feed_server.url("/hang.csv"))
    started = time.monotonic()
    assert feed_services.pull_feed(feed_id) == "error"
    assert time.monotonic() - started < 2.5
    imp = last_import(shop["mine"])
    assert (imp.source, imp.status) == ("feed", "failed")
    assert "không trả lời trong 1 giây" in imp.error
    assert db.session.get(ProducerFeed, feed_id).last_status == "error"


def test_a_feed_dripping_bytes_without_a_length_stops_at_its_overall_deadline(app, shop, feed_server):
    app.config["FEED_DEADLINE_SECONDS"] = 2.0
    feed_id = feed(shop["mine"], feed_server.url("/drip.csv"))
    started = time.monotonic()
    assert feed_services.pull_feed(feed_id) == "error"
    assert time.monotonic() - started < 10  # the server would drip for 30 s (held 100 s with a 10 s limit before)
    assert not feed_server.dripped_to_the_end
    imp = last_import(shop["mine"])
    assert (imp.source, imp.status) == ("feed", "failed")
    assert "mất quá 2 giây" in imp.error


def test_a_feed_dripping_its_headers_stops_at_its_overall_deadline(app, shop, feed_server):
    app.config["FEED_DEADLINE_SECONDS"] = 2.0
    feed_id = feed(shop["mine"], feed_server.url("/drip-headers.csv"))
    started = time.monotonic()
    assert feed_services.pull_feed(feed_id) == "error"
    assert time.monotonic() - started < 10  # the server would drip for 30 s; each byte comes well within a read
    assert not feed_server.dripped_to_the_end
    assert "mất quá 2 giây" in last_import(shop["mine"]).error


def test_an_html_page_is_not_a_feed(app, shop, feed_server):
    feed_id = feed(shop["mine"], feed_server.url("/page.html"))
    assert feed_services.pull_feed(feed_id) == "error"
    assert "HTML" in last_import(shop["mine"]).error


@pytest.mark.parametrize("path", ["/big.csv", "/big-unsized.csv"])
def test_a_feed_over_5_mb_is_refused(app, shop, feed_server, path):
    feed_id = feed(shop["mine"], feed_server.url(path))
    assert feed_services.pull_feed(feed_id) == "error"
    assert "5 MB" in last_import(shop["mine"]).error
    assert stock_of(shop["small"])[0] == 10


def test_a_feed_that_keeps_failing_the_same_way_is_logged_once(app, shop, feed_server):
    feed_id = feed(shop["mine"], feed_server.url("/page.html"))
    now = utcnow()
    feed_services.pull_feed(feed_id, now)
    feed_services.pull_feed(feed_id, now + timedelta(hours=2))
    assert db.session.scalar(select(func.count(StockImport.id))) == 1


def test_a_redirect_is_followed_to_a_good_feed(app, shop, feed_server):
    feed_server.csv = f"sku,quantity\n{shop['small']},1\n".encode()
    assert feed_services.pull_feed(feed(shop["mine"], feed_server.url("/moved.csv"))) == "applied"
    assert stock_of(shop["small"])[0] == 1


def test_each_feed_waits_its_own_interval(app, shop, feed_server):
    feed_server.csv = f"sku,quantity\n{shop['small']},1\n".encode()
    hourly = feed(shop["mine"], feed_server.url("/good.csv"))
    frequent = feed_services.save_feed(shop["other"], feed_server.url("/good.csv"), 15, True).id
    now = utcnow()
    assert set(feed_services.due_feed_ids(now)) == {hourly, frequent}
    feed_services.pull_feed(hourly, now)
    feed_services.pull_feed(frequent, now)
    assert feed_services.due_feed_ids(now + timedelta(minutes=16)) == [frequent]
    assert feed_services.pull_feed(hourly, now + timedelta(minutes=16)) == "not_due"
    assert set(feed_services.due_feed_ids(now + timedelta(minutes=61))) == {hourly, frequent}


def test_feed_urls_must_be_http_and_public(app, shop):
    for url in ("ftp://example.com/stock.csv", "file:///etc/passwd", "javascript:alert(1)"):
        with pytest.raises(ShopError):
            feed_services.save_feed(shop["mine"], url, 60, True)
    app.config["FEED_ALLOW_PRIVATE_HOSTS"] = False
    for url in ("http://127.0.0.1:6379/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/feed.csv"):
        with pytest.raises(ShopError) as caught:
            feed_services.save_feed(shop["mine"], url, 60, True)
        assert "công khai" in caught.value.message


def test_the_portal_registers_a_feed_and_the_log_shows_its_errors(client, shop, feed_server):
    sign_in(client, "ong@example.vn")
    response = client.post(
        "/producer/nhap-kho/nguon", data={"url": feed_server.url("/page.html"), "interval": "15", "active": "y"}
    )
    assert response.status_code == 302
    feed_row = db.session.scalars(select(ProducerFeed)).one()
    assert (feed_row.interval_minutes, feed_row.active) == (15, True)
    feed_services.pull_feed(feed_row.id)
    log = client.get("/producer/nhat-ky-dong-bo").get_data(as_text=True)
    assert "HTML" in log and "Nguồn tự động" in log
    bad = client.post("/producer/nhap-kho/nguon", data={"url": "ftp://x", "interval": "15"})
    assert bad.status_code == 400 and "http://" in bad.get_data(as_text=True)
    assert client.post("/producer/nhap-kho/nguon/xoa").status_code == 302
    assert db.session.scalar(select(func.count(ProducerFeed.id))) == 0


def test_a_feed_cannot_change_another_producers_sku(app, shop, feed_server):
    feed_server.csv = f"sku,quantity\n{shop['tea']},1\n".encode()
    feed_id = feed(shop["mine"], feed_server.url("/good.csv"))
    feed_services.pull_feed(feed_id)
    assert stock_of(shop["tea"])[0] == 10  # the other producer's SKU
    assert import_queries.report_rows(last_import(shop["mine"]))[0].code == "other_producer"


@pytest.mark.parametrize("path", ["/good.csv", "/page.html"])
@pytest.mark.parametrize("change", ["deleted", "switched off"])
def test_a_feed_deleted_or_switched_off_while_it_is_fetched_applies_nothing(
    app, shop, feed_server, monkeypatch, path, change
):
    feed_server.csv = f"sku,quantity\n{shop['small']},12\n".encode()
    feed_id = feed(shop["mine"], feed_server.url(path))
    real_fetch = feed_services.feeds.fetch

    def producer_changes_it_meanwhile(*args, **kwargs):
        fetched = real_fetch(*args, **kwargs)
        if change == "deleted":
            feed_services.delete_feed(shop["mine"])
        else:
            feed_services.save_feed(shop["mine"], feed_server.url(path), 60, False)
        return fetched

    monkeypatch.setattr(feed_services.feeds, "fetch", producer_changes_it_meanwhile)
    before = stock_of(shop["small"])
    assert feed_services.pull_feed(feed_id) == "inactive"
    assert stock_of(shop["small"]) == before
    assert last_import(shop["mine"]) is None
    assert db.session.scalar(select(func.count(ProducerFeed.id))) == (0 if change == "deleted" else 1)
