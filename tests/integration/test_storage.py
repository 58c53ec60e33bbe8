"""The storage layer against a real S3-compatible server on 127.0.0.1 (moto in server
mode, started by the suite): photos, certificate documents and stock imports kept in
one bucket so that any node serves and any worker reads them; clear refusals when
the store is misconfigured or down, never a half-saved product."""

import io
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from shop import create_app
from shop.accounts.services import create_user
from shop.catalog.models import ProductImage
from shop.extensions import db
from shop.inventory import import_files, import_services
from shop.inventory.models import StockImport
from shop.producers.models import Certificate
from shop.storage import CERTIFICATES, IMPORTS, MEDIA, S3Storage, StorageError, StoredFileMissing, storage
from tests.support.factories import make_producer, make_product
from tests.support.servers import free_port

PASSWORD = "mat-khau-an-toan-1"


class FreshContextClient(FlaskClient):
    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def jpeg(size=(900, 700), color=(180, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=90)
    return out.getvalue()


def node(database_url: str, base: Path, **settings):
    """One web node: its own folders on disk, the shared database and store."""
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        MEDIA_DIR=str(base / "media"),
        CERTIFICATE_DIR=str(base / "certificates"),
        STOCK_IMPORT_DIR=str(base / "stock-imports"),
        **settings,
    )
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture
def database_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "shared.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def s3(s3_server, s3_bucket) -> dict:
    return s3_server.config(s3_bucket)


@pytest.fixture
def app(database_url, tmp_path, s3):
    application = node(database_url, tmp_path / "node1", **s3)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def shop(app):
    mine = make_producer("HTX ong Phong Thổ", province_name="Lai Châu")
    honey = make_product("Mật ong hoa rừng", producer=mine, prices=(95_000,), stock=10)
    honey.variants[0].sku = "MO-1"
    db.session.commit()
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=mine.slug, name="Chị Hoa")
    create_user("vanhanh@example.vn", "operator", PASSWORD)
    return {"producer": mine.id, "honey": honey.id}


def signed_in(app, email: str):
    client = app.test_client()
    response = client.post("/tai-khoan/dang-nhap", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def upload_photo(client, product_id: int, data: bytes):
    return client.post(
        f"/producer/san-pham/{product_id}/anh",
        data={"images": [(io.BytesIO(data), "anh.jpg")]},
        content_type="multipart/form-data",
    )


def test_files_round_trip_through_the_bucket_and_are_listed_per_area(app):
    store = storage()
    assert isinstance(store, S3Storage)
    store.put(MEDIA, "a/b.jpg", b"photo")
    store.put(IMPORTS, "7/stock.csv", b"sku,quantity\n")
    assert store.get(MEDIA, "a/b.jpg") == b"photo"
    assert store.exists(MEDIA, "a/b.jpg") and not store.exists(CERTIFICATES, "a/b.jpg")
    assert list(store.keys(MEDIA)) == ["a/b.jpg"] and list(store.keys(IMPORTS)) == ["7/stock.csv"]
    store.delete(MEDIA, "a/b.jpg")
    with pytest.raises(StoredFileMissing):
        store.get(MEDIA, "a/b.jpg")
    with pytest.raises(StoredFileMissing):
        store.get(MEDIA, "../secret")


def test_a_presigned_url_opens_a_private_file_and_a_bare_one_does_not(app, s3):
    store = storage()
    store.put(CERTIFICATES, "3/qd.pdf", b"%PDF-1.4 decision")
    signed = store.signed_url(CERTIFICATES, "3/qd.pdf", 60)
    with urllib.request.urlopen(signed, timeout=5) as response:  # noqa: S310 - loopback test server
        assert response.read() == b"%PDF-1.4 decision"
    bare = f"{s3['S3_ENDPOINT_URL']}/{s3['S3_BUCKET']}/certificates/3/qd.pdf"
    assert "X-Amz-Signature" in signed and "X-Amz-Signature" not in bare


def test_a_photo_uploaded_through_one_node_is_served_by_another(app, shop, database_url, tmp_path, s3):
    owner = signed_in(app, "ong@example.vn")
    photo = jpeg()
    assert upload_photo(owner, shop["honey"], photo).status_code == 302
    image = db.session.scalars(select(ProductImage)).one()
    assert not any((tmp_path / "node1").rglob("*.jpg"))  # nothing on the node's own disk

    other = node(database_url, tmp_path / "node2", **s3)
    served = other.test_client().get(f"/media/{image.path}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == storage().get(MEDIA, image.path)
    assert Image.open(io.BytesIO(served.data)).size == (900, 700)
    assert "immutable" in served.headers["Cache-Control"]
    again = other.test_client().get(f"/media/{image.path}", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert other.test_client().get("/media/products/1/none.jpg").status_code == 404


def test_public_media_urls_use_the_cdn_base_when_one_is_set(database_url, tmp_path, s3, shop):
    cdn = node(database_url, tmp_path / "cdn", MEDIA_URL_BASE="https://cdn.example.vn/media/", **s3)
    with cdn.app_context():
        image = ProductImage(product_id=shop["honey"], path="products/1/abc.jpg", alt="x", width=1, height=1)
        db.session.add(image)
        db.session.commit()
        from shop.catalog.services import refresh_products

        refresh_products([shop["honey"]])
        db.session.commit()
    body = cdn.test_client().get("/api/v1/products").get_json()
    covers = [item["image"] for item in body["items"] if item["image"]]
    assert covers == ["https://cdn.example.vn/media/products/1/abc.jpg"]


def test_a_certificate_document_is_in_the_bucket_and_shown_only_to_operators(app, shop, tmp_path):
    owner = signed_in(app, "ong@example.vn")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    sent = owner.post(
        "/producer/giay-chung-nhan/them",
        data={
            "product_id": str(shop["honey"]),
            "stars": "3",
            "decision_number": "77/QĐ-UBND",
            "decision_date": "01/10/2026",
            "issuing_level": "province",
            "document": (io.BytesIO(pdf), "qd.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    cert = db.session.scalars(select(Certificate).where(Certificate.decision_number == "77/QĐ-UBND")).one()
    assert storage().get(CERTIFICATES, cert.document_path) == pdf
    assert not any((tmp_path / "node1").rglob("*.pdf"))

    assert app.test_client().get(f"/media/{cert.document_path}").status_code == 404
    assert owner.get(f"/ops/giay-chung-nhan/{cert.id}/tai-lieu").status_code == 404  # not an operator
    ops = signed_in(app, "vanhanh@example.vn")
    document = ops.get(f"/ops/giay-chung-nhan/{cert.id}/tai-lieu")
    assert document.status_code == 200 and document.data == pdf
    assert document.headers["Content-Security-Policy"] == "sandbox"


def test_a_stock_import_stored_by_one_node_is_processed_by_a_worker_with_another_disk(
    app, shop, database_url, tmp_path, s3
):
    uploaded = import_services.create_upload(shop["producer"], None, "kho.csv", io.BytesIO(b"sku,quantity\nMO-1,42\n"))
    key = uploaded.stock_import.file_path
    assert storage().get(IMPORTS, key).startswith(b"sku,quantity")
    assert not any((tmp_path / "node1").rglob("*.csv"))
    worker = node(database_url, tmp_path / "worker", **s3)
    with worker.app_context():
        assert import_services.process_import(uploaded.stock_import.id) == "done"
        assert db.session.get(StockImport, uploaded.stock_import.id).status == "done"


def test_copy_local_moves_every_existing_file_into_the_store_once(database_url, tmp_path, s3):
    local = node(database_url, tmp_path / "old")
    with local.app_context():
        storage().put(MEDIA, "products/1/a.jpg", b"a")
        storage().put(CERTIFICATES, "1/qd.pdf", b"%PDF")
        storage().put(IMPORTS, "1/kho.csv", b"sku,quantity\n")
    moved = node(database_url, tmp_path / "old", **s3)
    result = moved.test_cli_runner().invoke(args=["storage", "copy-local"])
    assert result.exit_code == 0, result.output
    assert "1 media, 1 certificates, 1 stock-imports" in result.output
    with moved.app_context():
        assert storage().get(CERTIFICATES, "1/qd.pdf") == b"%PDF"
    again = moved.test_cli_runner().invoke(args=["storage", "copy-local"])
    assert "0 media, 0 certificates, 0 stock-imports" in again.output


# --- misconfiguration and outages ----------------------------------------------------------


def test_a_node_with_a_wrong_bucket_stops_at_start_up_saying_so(database_url, tmp_path, s3):
    with pytest.raises(RuntimeError, match="bucket 'no-such-bucket' does not exist"):
        node(database_url, tmp_path / "n", **{**s3, "S3_BUCKET": "no-such-bucket"}, STORAGE_CHECK_ON_START=True)


def test_a_node_whose_store_is_down_stops_at_start_up_saying_so(database_url, tmp_path, s3):
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RuntimeError, match="does not answer"):
        node(database_url, tmp_path / "n", **{**s3, "S3_ENDPOINT_URL": down}, STORAGE_CHECK_ON_START=True)


def test_s3_without_a_bucket_or_with_an_unknown_backend_is_refused(database_url, tmp_path):
    with pytest.raises(RuntimeError, match="needs S3_BUCKET"):
        node(database_url, tmp_path / "n", STORAGE_BACKEND="s3")
    with pytest.raises(RuntimeError, match="must be 'local' or 's3'"):
        node(database_url, tmp_path / "n", STORAGE_BACKEND="ftp")


def test_storage_check_command_names_the_problem(database_url, tmp_path, s3):
    wrong = node(database_url, tmp_path / "n", **{**s3, "S3_BUCKET": "missing-bucket"})
    result = wrong.test_cli_runner().invoke(args=["storage", "check"])
    assert result.exit_code == 1 and "missing-bucket" in result.output
    right = node(database_url, tmp_path / "n", **s3)
    assert right.test_cli_runner().invoke(args=["storage", "check"]).output.startswith("Storage s3: ok")


@pytest.fixture
def store_down(database_url, tmp_path, s3, shop):
    """Node 1 with its store's address pointing at a port where nothing listens."""
    application = node(
        database_url, tmp_path / "down", **{**s3, "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "S3_TIMEOUT": 1}
    )
    return application


def test_a_photo_uploaded_while_the_store_is_down_is_refused_clearly_and_nothing_is_saved(store_down, shop):
    owner = signed_in(store_down, "ong@example.vn")
    page = upload_photo(owner, shop["honey"], jpeg())
    assert page.status_code == 400
    assert "kho lưu trữ tệp không phản hồi" in page.get_data(as_text=True)
    with store_down.app_context():
        assert db.session.scalar(select(func.count(ProductImage.id))) == 0


def test_a_stock_file_uploaded_while_the_store_is_down_is_refused_clearly(store_down, shop):
    with store_down.app_context():
        with pytest.raises(import_files.ImportRefused, match="kho lưu trữ tệp không phản hồi"):
            import_services.create_upload(shop["producer"], None, "kho.csv", io.BytesIO(b"sku,quantity\nMO-1,4\n"))
        assert db.session.scalar(select(func.count(StockImport.id))) == 0


def test_a_worker_that_cannot_reach_the_store_retries_instead_of_failing_the_import(app, store_down, shop):
    uploaded = import_services.create_upload(shop["producer"], None, "kho.csv", io.BytesIO(b"sku,quantity\nMO-1,42\n"))
    with store_down.app_context():
        with pytest.raises(StorageError):
            import_services.process_import(uploaded.stock_import.id)
        assert db.session.get(StockImport, uploaded.stock_import.id).status in ("queued", "running")  # not failed
    assert import_services.process_import(uploaded.stock_import.id) == "done"


def test_media_is_a_503_while_the_store_is_down(store_down):
    response = store_down.test_client().get("/media/products/1/a.jpg")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
