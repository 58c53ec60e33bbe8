import re
from datetime import timedelta

import pytest

from shop.formatting import today_vn
from tests.support.factories import make_producer, make_product


@pytest.fixture
def catalog(app):
    ke = make_producer("Hộ làng Kế", owner_type="household")
    return {
        "banh": make_product("Bánh đa Kế", producer=ke, prices=(45_000, 25_000), stock=(0, 8), stars=4),
        "honey": make_product(
            "Mật ong Hoa Rừng",
            prices=(180_000,),
            stock=0,
            category_slug="mat-ong-mat-khac-nong-san-khac",
            province_name="Tuyên Quang",
        ),
        "old": make_product("Chè cũ", stars=5, decided=today_vn() - timedelta(days=1200)),
    }


def test_product_list_items_carry_the_promised_fields(client, catalog):
    body = client.get("/api/v1/products?q=banh da").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 20
    item = body["items"][0]
    assert item["name"] == "Bánh đa Kế"
    assert item["price"] == 25_000 and isinstance(item["price"], int)
    assert item["stars"] == 4
    assert item["province"] == "Bắc Ninh"
    assert item["producer"] == {"slug": "ho-lang-ke", "name": "Hộ làng Kế"}
    assert item["in_stock"] is True
    assert item["url"].endswith(f"/san-pham/{catalog['banh'].slug}")


def test_a_product_whose_certificate_expired_is_not_in_the_api(client, catalog):
    items = {i["name"]: i for i in client.get("/api/v1/products?per_page=100").get_json()["items"]}
    assert sorted(items) == ["Bánh đa Kế", "Mật ong Hoa Rừng"]  # OCOP-only: "Chè cũ" lapsed
    assert client.get(f"/api/v1/products/{catalog['old'].slug}").status_code == 404


def test_filters_match_the_listing(client, catalog):
    def names(qs):
        return sorted(i["name"] for i in client.get(f"/api/v1/products?{qs}").get_json()["items"])

    assert names("stars=4") == ["Bánh đa Kế"]
    assert names("province=tuyen-quang") == ["Mật ong Hoa Rừng"]
    assert names("owner_type=household") == ["Bánh đa Kế"]
    assert names("producer=ho-lang-ke") == ["Bánh đa Kế"]
    assert names("in_stock=true") == ["Bánh đa Kế"]
    assert names("price_min=150000") == ["Mật ong Hoa Rừng"]
    assert names("price_max=30000") == ["Bánh đa Kế"]
    assert names("group=mat-ong-mat-khac-nong-san-khac") == ["Mật ong Hoa Rừng"]


def test_per_page_and_page(client, catalog):
    body = client.get("/api/v1/products?per_page=1&page=2&sort=price_asc").get_json()
    assert body["total"] == 2 and body["per_page"] == 1 and len(body["items"]) == 1
    assert body["items"][0]["name"] == "Mật ong Hoa Rừng"


def test_product_detail_adds_variants_certificate_and_description(client, catalog):
    body = client.get(f"/api/v1/products/{catalog['banh'].slug}").get_json()
    assert body["variants"] == [
        {
            "sku": catalog["banh"].variants[0].sku,
            "label": "Gói 1",
            "price": 45_000,
            "weight_grams": 500,
            "in_stock": False,
            "barcode": None,
        },
        {
            "sku": catalog["banh"].variants[1].sku,
            "label": "Gói 2",
            "price": 25_000,
            "weight_grams": 500,
            "in_stock": True,
            "barcode": None,
        },
    ]
    assert body["certificate"]["stars"] == 4
    assert body["certificate"]["expires_on"] > today_vn().isoformat()
    assert "description" in body and body["images"] == []


def test_producers_and_producer_detail(client, catalog):
    listing = client.get("/api/v1/producers?owner_type=household").get_json()
    assert [p["slug"] for p in listing["items"]] == ["ho-lang-ke"]
    assert listing["items"][0]["product_count"] == 1
    detail = client.get("/api/v1/producers/ho-lang-ke").get_json()
    assert detail["name"] == "Hộ làng Kế"
    assert [c["product"] for c in detail["certificates"]] == [catalog["banh"].slug]


def test_categories_and_provinces(client, app):
    categories = client.get("/api/v1/categories").get_json()
    assert [c["slug"] for c in categories["items"]][:1] == ["thuc-pham"]
    assert categories["items"][0]["children"][0]["children"][0]["level"] == 3
    provinces = client.get("/api/v1/provinces").get_json()
    assert provinces["total"] == 34
    assert {"slug": "bac-ninh", "name": "Bắc Ninh", "kind": "province", "merged_from": ["Bắc Giang"]} in (
        provinces["items"]
    )


@pytest.mark.parametrize(
    "qs, parameter",
    [
        ("stars=abc", "stars"),
        ("page=-1", "page"),
        ("per_page=1000", "per_page"),
        ("sort=random", "sort"),
        ("owner_type=farm", "owner_type"),
        ("price_min=-5", "price_min"),
        ("q=" + "a" * 5_000, "q"),  # past MAX_QUERY_CHARS; past 8,190 the whole address gets a 414
        ("in_stock=perhaps", "in_stock"),
        ("group=%3Cscript%3E", "group"),
    ],
)
def test_bad_parameters_get_a_400_with_a_reason(client, app, qs, parameter):
    response = client.get(f"/api/v1/products?{qs}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter" and error["parameter"] == parameter and error["message"]


def test_bad_producer_list_parameters_get_a_400(client, app):
    assert client.get("/api/v1/producers?province=atlantis").status_code == 400
    assert client.get("/api/v1/producers?page=abc").status_code == 400


def test_unknown_slugs_get_a_json_404(client, app):
    for path in ("/api/v1/products/khong-co", "/api/v1/producers/khong-co", "/api/v1/nothing"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_openapi_describes_every_endpoint(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    api_rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule.removeprefix("/api/v1"))
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1")
    }
    assert api_rules == set(doc["paths"])
    params = {p["name"] for p in doc["paths"]["/products"]["get"]["parameters"]}
    assert params == {
        "q",
        "stars",
        "group",
        "province",
        "owner_type",
        "producer",
        "price_min",
        "price_max",
        "in_stock",
        "sort",
        "page",
        "per_page",
    }
