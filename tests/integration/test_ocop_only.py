"""OCOP-only: a product is on sale only with a verified, unexpired certificate, unless the
operator opens the clearly labelled "Sản phẩm chưa có sao" section; certificates are
verified only with their document, at approval or later."""

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select, update

from shop.accounts.services import create_user
from shop.catalog import services as catalog
from shop.catalog.filters import CatalogFilter
from shop.catalog.models import Product
from shop.catalog.queries import get_product, list_products
from shop.extensions import db
from shop.formatting import today_vn, utcnow
from shop.operator import producers_services as operator
from shop.operator.producers_services import ReviewError
from shop.producers.models import Certificate
from shop.producers.rules import certificate_expiry
from shop.settings import services as settings
from tests.support.cache import from_cache, warm
from tests.support.factories import make_producer, make_product

PASSWORD = "mat-khau-dai-1"


@pytest.fixture
def operator_id(app) -> int:
    return create_user("vanhanh@example.vn", "operator", PASSWORD, name="Chị Vận Hành").id


def certificate(producer_id: int, product_id: int, *, document: bool = True, state: str = "pending") -> Certificate:
    decided = today_vn() - timedelta(days=30)
    row = Certificate(
        producer_id=producer_id,
        product_id=product_id,
        stars=3,
        decision_number="77/QĐ-UBND",
        decision_date=decided,
        issuing_level="province",
        expires_on=certificate_expiry(decided),
        document_path=f"{producer_id}/quyet-dinh.pdf" if document else None,
        state=state,
    )
    db.session.add(row)
    db.session.commit()
    return row


def listed(product_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(Product, product_id).listed


def names(**kw) -> list[str]:
    return [p.name for p in list_products(CatalogFilter(per_page=50), **kw).items]


@pytest.fixture
def catalog_mix(app):
    shop = make_producer("HTX Ong Phong Thổ")
    return {
        "honey": make_product("Mật ong hoa rừng", producer=shop, stars=4),
        "pollen": make_product("Phấn hoa ong rừng", producer=shop, stars=None),
        "waiting": make_product("Sáp ong", producer=shop, stars=3, cert_state="pending"),
        "refused": make_product("Rượu ong", producer=shop, stars=3, cert_state="rejected"),
        "lapsed": make_product("Mật ong bạc hà", producer=shop, stars=3, decided=today_vn() - timedelta(days=4 * 365)),
    }


def test_only_products_with_a_verified_unexpired_certificate_are_on_sale(client, catalog_mix):
    honey, pollen = catalog_mix["honey"], catalog_mix["pollen"]
    assert names() == ["Mật ong hoa rừng"]
    assert [listed(p.id) for p in catalog_mix.values()] == [True, False, False, False, False]
    assert client.get(f"/san-pham/{pollen.slug}").status_code == 404
    assert [i["slug"] for i in client.get("/api/v1/products").get_json()["items"]] == [honey.slug]
    assert client.get(f"/api/v1/products/{pollen.slug}").status_code == 404
    client.post("/gio-hang/them", data={"variant_id": pollen.variants[0].id, "quantity": 1, "next": "/"})
    assert "Phấn hoa" not in client.get("/gio-hang").get_data(as_text=True)
    assert client.get("/san-pham-chua-co-sao").status_code == 404  # the section is off


def test_the_operators_section_sells_them_apart_and_labelled(client, catalog_mix, operator_id):
    pollen = catalog_mix["pollen"]
    assert catalog.set_unstarred_section(operator_id, True) is True
    assert catalog.set_unstarred_section(operator_id, True) is False  # nothing changed, nothing written

    assert names() == ["Mật ong hoa rừng"]  # the OCOP catalog and its search stay OCOP-only
    assert names(uncertified=True) == ["Mật ong bạc hà", "Rượu ong", "Sáp ong", "Phấn hoa ong rừng"]
    section = client.get("/san-pham-chua-co-sao").get_data(as_text=True)
    assert (
        "Sản phẩm chưa có sao" in section and "không phải sản phẩm OCOP" in section and "Phấn hoa ong rừng" in section
    )
    assert "Mật ong hoa rừng" not in section
    page = client.get(f"/san-pham/{pollen.slug}").get_data(as_text=True)
    assert 'class="unstarred-label"' in page
    assert "khu sản phẩm chưa có sao" in client.get("/san-pham").get_data(as_text=True)
    client.post("/gio-hang/them", data={"variant_id": pollen.variants[0].id, "quantity": 1, "next": "/"})
    assert "Phấn hoa ong rừng" in client.get("/gio-hang").get_data(as_text=True)

    assert catalog.set_unstarred_section(operator_id, False) is True
    assert not listed(pollen.id) and client.get("/san-pham-chua-co-sao").status_code == 404
    assert settings.get_int("unstarred_section") == 0


def test_a_certificate_lapsing_at_vietnam_midnight_unlists_its_product(cached, operator_id):
    client = cached.test_client()
    tea = make_product("Trà shan tuyết", stars=3, decided=today_vn() - timedelta(days=3 * 365))
    cert = db.session.scalars(select(Certificate).where(Certificate.product_id == tea.id)).one()
    db.session.execute(update(Certificate).where(Certificate.id == cert.id).values(expires_on=today_vn()))
    catalog.commit_catalog_change([tea.id])
    assert listed(tea.id) and "Trà shan tuyết" in names()
    page = f"/san-pham/{tea.slug}"
    warm(client, page)
    # Midnight in Vietnam: the day moved on, nothing was written yet. Pages expire then
    # (the page cache's midnight expiry); what they render next leaves the product out.
    tomorrow = today_vn() + timedelta(days=1)
    assert "Trà shan tuyết" not in names(today=tomorrow)
    # The same moment seen from the stored dates (as if they were written a day earlier).
    yesterday = today_vn() - timedelta(days=1)
    db.session.execute(update(Certificate).where(Certificate.id == cert.id).values(expires_on=yesterday))
    db.session.execute(
        update(Product).where(Product.id == tea.id).values(cert_valid_until=yesterday, updated_at=utcnow())
    )
    db.session.commit()
    for name in ("catalog_index_synced", "page_s0"):  # the next request, after a purge
        g.pop(name, None)
    assert listed(tea.id)  # the column lags until the hourly task...
    assert "Trà shan tuyết" not in names()  # ...but listings and search check the day
    assert get_product(tea.slug) is None  # nor does a product page rendered now
    assert catalog.unlist_lapsed() == 1 and not listed(tea.id)
    assert not from_cache(client, page) and client.get(page).status_code == 404
    assert catalog.unlist_lapsed() == 0


def test_a_certificate_without_its_document_cannot_be_verified(app, operator_id):
    shop = make_producer("HTX Chè")
    tea = make_product("Trà Tân Cương", producer=shop, stars=None)
    bare = certificate(shop.id, tea.id, document=False)
    with pytest.raises(ReviewError, match="chưa có tài liệu"):
        operator.decide_certificate(operator_id, bare.id, True)
    db.session.rollback()
    assert db.session.get(Certificate, bare.id).state == "pending" and not listed(tea.id)
    documented = certificate(shop.id, tea.id)
    operator.decide_certificate(operator_id, documented.id, True)
    assert listed(tea.id)


def test_approving_an_application_verifies_the_ticked_certificates_in_the_same_step(app, operator_id):
    applicant = make_producer("HTX Miến dong", status="pending")
    noodles = make_product("Miến dong", producer=applicant, stars=None)
    candy = make_product("Kẹo lạc", producer=applicant, stars=None)
    checked, unchecked = certificate(applicant.id, noodles.id), certificate(applicant.id, candy.id)
    other = certificate(make_producer().id, make_product("Khác", stars=None).id)

    with pytest.raises(ReviewError):  # another producer's certificate is not part of this application
        operator.decide_application(operator_id, applicant.id, True, "", (checked.id, other.id))
    db.session.rollback()
    assert db.session.get(Certificate, checked.id).state == "pending"

    waiting = operator.decide_application(operator_id, applicant.id, True, "", (checked.id,))
    assert waiting == 1
    db.session.expire_all()
    assert (db.session.get(Certificate, checked.id).state, db.session.get(Certificate, unchecked.id).state) == (
        "verified",
        "pending",
    )
    assert listed(noodles.id) and not listed(candy.id)  # the unchecked one stays visibly waiting


def test_the_console_approves_with_a_tick_and_says_what_still_waits(app, operator_id):
    ops = app.test_client()
    ops.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": PASSWORD})
    applicant = make_producer("HTX Miến dong", status="pending")
    noodles = make_product("Miến dong", producer=applicant, stars=None)
    candy = make_product("Kẹo lạc", producer=applicant, stars=None)
    checked, bare = certificate(applicant.id, noodles.id), certificate(applicant.id, candy.id, document=False)

    file = ops.get(f"/ops/nha-san-xuat/{applicant.id}").get_data(as_text=True)
    assert f'name="verify_certificate" value="{checked.id}"' in file
    assert f'value="{bare.id}"' not in file and "không thể xác minh" in file
    done = ops.post(
        f"/ops/ho-so/{applicant.id}/duyet", data={"verify_certificate": [str(checked.id), "x", "²", "9" * 40, ""]}
    )
    assert done.status_code == 302
    after = ops.get(done.location).get_data(as_text=True)
    assert re.search(r"1 giấy chứng nhận vẫn chờ xác minh", after)
    assert listed(noodles.id) and not listed(candy.id)
    queue = ops.get("/ops/giay-chung-nhan").get_data(as_text=True)
    assert f"/ops/giay-chung-nhan/{bare.id}/xac-minh" not in queue
    assert ops.post(f"/ops/giay-chung-nhan/{bare.id}/xac-minh").status_code == 400
