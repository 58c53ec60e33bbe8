import re

import pytest

from tests.support.factories import make_producer, make_product


@pytest.fixture
def banh_da(app):
    return make_product(
        "Bánh đa Kế",
        producer=make_producer("Hộ làng Kế", owner_type="household"),
        prices=(25_000, 45_000),
        stars=4,
        description="Bánh đa nướng giòn.",
    )


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_lists_products_groups_and_provinces(client, banh_da):
    page = text(client.get("/"))
    assert "Bánh đa Kế" in page and "Thực phẩm" in page and "Bắc Ninh" in page


def test_search_page_finds_without_diacritics_and_shows_price_in_dong(client, banh_da):
    page = text(client.get("/san-pham?q=banh+da"))
    assert "Bánh đa Kế" in page
    assert "25.000\u00a0₫" in page


def test_product_page_shows_badge_certificate_qr_and_json_ld(client, banh_da):
    page = text(client.get(f"/san-pham/{banh_da.slug}"))
    assert "OCOP" in page and "★★★★" in page
    assert banh_da.variants[0].sku in page
    assert f"/san-pham/{banh_da.slug}/qr.svg" in page
    assert '"priceCurrency": "VND"' in page or '"priceCurrency":"VND"' in page
    assert '<link rel="canonical" href="http://localhost/san-pham/' in page
    assert 'property="og:title"' in page


def test_qr_code_is_an_svg_of_the_product_url(client, banh_da):
    response = client.get(f"/san-pham/{banh_da.slug}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<?xml") or b"<svg" in response.data[:200]


def test_producer_page_shows_story_certificates_and_products(client, banh_da):
    page = text(client.get("/nha-san-xuat/ho-lang-ke"))
    assert "Hộ làng Kế" in page and "Bánh đa Kế" in page and banh_da.producer.ward in page
    assert "QĐ-UBND" in page


def test_unknown_slugs_get_a_styled_404(client, app):
    for path in ("/san-pham/khong-co", "/nha-san-xuat/khong-co", "/trang/khong-co", "/khong-co"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Không tìm thấy" in text(response) and "site-header" in text(response)


def test_pending_producer_pages_are_hidden(client, app):
    hidden = make_product("Ẩn", producer=make_producer("HTX chờ duyệt", status="pending"))
    assert client.get(f"/san-pham/{hidden.slug}").status_code == 404
    assert client.get("/nha-san-xuat/htx-cho-duyet").status_code == 404


@pytest.mark.parametrize(
    "qs",
    [
        "stars=abc",
        "page=-1",
        "q=" + "bánh" * 500,  # long (a 414 page starts past 8,190 characters: test below)
        "price_min=x&price_max=-1",
        "province=%3Cscript%3E",
        "page=99999999999999999999",
    ],
)
def test_nonsense_filters_still_render_the_listing(client, banh_da, qs):
    response = client.get(f"/san-pham?{qs}")
    assert response.status_code == 200
    assert "<script>" not in text(response).split("</header>")[1].split("<footer")[0]


def test_a_nul_byte_in_a_filter_is_a_clear_400_not_a_500(client, banh_da):
    response = client.get("/san-pham?sort=%00")  # refused for every request by shop.inputs
    assert response.status_code == 400


def test_filters_live_in_the_url(client, banh_da):
    page = text(client.get("/san-pham?stars=4&province=bac-ninh"))
    assert re.search(r'<input type="radio" name="stars" value="4"\s+checked>', page)
    assert '<option value="bac-ninh" selected>' in page


def test_sitemap_lists_products_and_producers(client, banh_da):
    response = client.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    assert f"/san-pham/{banh_da.slug}</loc>" in text(response)
    assert "/nha-san-xuat/ho-lang-ke</loc>" in text(response)


def test_policy_pages_exist(client, app):
    for slug in (
        "gioi-thieu",
        "quy-che-hoat-dong",
        "chinh-sach-thanh-toan",
        "chinh-sach-van-chuyen",
        "chinh-sach-doi-tra",
        "giai-quyet-khieu-nai",
        "chinh-sach-bao-mat",
    ):
        assert client.get(f"/trang/{slug}").status_code == 200


def test_language_switch_sets_a_cookie_and_returns_to_the_page(client, banh_da):
    response = client.post("/ngon-ngu", data={"lang": "en", "next": "/san-pham?q=banh"})
    assert response.status_code == 303 and response.headers["Location"] == "/san-pham?q=banh"
    assert 'lang="en"' in text(client.get("/san-pham"))


def test_language_switch_refuses_unknown_languages_and_foreign_redirects(client, app):
    assert client.post("/ngon-ngu", data={"lang": "fr"}).status_code == 400
    response = client.post("/ngon-ngu", data={"lang": "vi", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_an_address_too_long_gets_the_shops_own_page(client, banh_da):
    response = client.get("/san-pham?q=" + "banh+da+" * 1200)  # about 9,600 characters
    page = text(response) if response.status_code == 200 else response.get_data(as_text=True)
    assert response.status_code == 414
    assert "Địa chỉ trang quá dài" in page and 'name="q"' in page and "Chợ" in page
    assert client.get("/san-pham?q=" + "banh+da+" * 900).status_code == 200  # 7,200: still answered


def test_counts_read_in_the_singular_and_plural_in_english(client, banh_da):
    client.set_cookie("lang", "en")
    assert '<p class="result-count" role="status">1 product</p>' in text(client.get("/san-pham"))
    make_product("Bánh đa vừng", producer=banh_da.producer, prices=(30_000,))
    assert '<p class="result-count" role="status">2 products</p>' in text(client.get("/san-pham"))
    client.set_cookie("lang", "vi")
    assert '<p class="result-count" role="status">2 sản phẩm</p>' in text(client.get("/san-pham"))
