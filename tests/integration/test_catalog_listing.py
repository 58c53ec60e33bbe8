import html
import re

import pytest

from shop.catalog.filters import parse_filter
from shop.catalog.queries import list_products
from shop.extensions import db
from tests.support.factories import make_producer, make_product


def listing(**args):
    return list_products(parse_filter(args, strict=True, per_page=20, max_per_page=100))


@pytest.fixture
def catalog(app):
    htx = make_producer("HTX Tam Đảo", owner_type="cooperative", province_name="Phú Thọ")
    family = make_producer("Cơ sở Huệ Dương", owner_type="household", province_name="Hà Nội")
    return {
        "yoghurt": make_product(
            "Sữa chua nếp cẩm",
            producer=htx,
            prices=(35_000, 60_000),
            stars=3,
            category_slug="che-bien-tu-thit-trung-sua-thuy-san-mat-ong",
            created_days_ago=3,
        ),
        "milk": make_product(
            "Sữa tươi đóng chai",
            producer=htx,
            prices=(28_000,),
            stock=0,
            category_slug="thit-thuy-san-trung-sua-tuoi",
            created_days_ago=2,
        ),
        "fishcake": make_product(
            "Chả cá thát lát",
            producer=family,
            prices=(180_000,),
            stars=4,
            category_slug="che-bien-tu-thit-trung-sua-thuy-san-mat-ong",
            created_days_ago=1,
        ),
        "tea": make_product(
            "Trà Tân Cương",
            producer=family,
            prices=(250_000, 90_000),
            stars=5,
            category_slug="che-tuoi-che-che-bien",
            province_name="Thái Nguyên",
        ),
        "draft": make_product("Nháp", producer=family, status="draft"),
    }


def names(result):
    return [p.name for p in result.items]


def test_listing_shows_published_products_newest_first(catalog):
    assert names(listing()) == ["Trà Tân Cương", "Chả cá thát lát", "Sữa tươi đóng chai", "Sữa chua nếp cẩm"]


def test_price_is_the_lowest_variant_price(catalog):
    assert {p.name: p.min_price for p in listing().items}["Trà Tân Cương"] == 90_000


def test_minimum_stars(catalog):
    assert names(listing(stars="4")) == ["Trà Tân Cương", "Chả cá thát lát"]


def test_a_group_includes_its_subgroups_and_sets(catalog):
    assert set(names(listing(group="thuc-pham"))) == {
        "Trà Tân Cương",
        "Chả cá thát lát",
        "Sữa tươi đóng chai",
        "Sữa chua nếp cẩm",
    }
    assert names(listing(group="che")) == ["Trà Tân Cương"]
    assert listing(group="do-uong").total == 0


def test_unknown_slugs_give_no_results_rather_than_everything(catalog):
    assert listing(group="khong-co").total == 0
    assert listing(province="atlantis").total == 0


def test_province_owner_type_and_producer(catalog):
    assert names(listing(province="thai-nguyen")) == ["Trà Tân Cương"]
    assert set(names(listing(owner_type="cooperative"))) == {"Sữa tươi đóng chai", "Sữa chua nếp cẩm"}
    assert listing(producer="co-so-hue-duong").total == 2


def test_price_range_and_in_stock(catalog):
    assert set(names(listing(price_min="30000", price_max="100000"))) == {"Sữa chua nếp cẩm", "Trà Tân Cương"}
    assert "Sữa tươi đóng chai" not in names(listing(in_stock="true"))


def test_price_sorts(catalog):
    assert names(listing(sort="price_asc"))[0] == "Sữa tươi đóng chai"
    assert names(listing(sort="price_desc"))[0] == "Chả cá thát lát"


def test_pagination_keeps_the_total(catalog):
    page2 = list_products(parse_filter({"page": "2", "per_page": "3"}, strict=True, per_page=3, max_per_page=100))
    assert page2.total == 4 and names(page2) == ["Sữa chua nếp cẩm"] and page2.pages == 2


def test_facets_count_each_dimension_without_its_own_filter(catalog):
    facets = listing(province="thai-nguyen").facets
    # The province facet ignores the province filter, so other provinces still show their counts.
    assert {p.name: n for p, n in facets.provinces} == {"Phú Thọ": 2, "Hà Nội": 1, "Thái Nguyên": 1}
    # Other facets are counted within Thái Nguyên.
    assert facets.stars == {5: 1, 4: 1, 3: 1}
    assert facets.owner_types["household"] == 1 and facets.owner_types["cooperative"] == 0


def test_star_facet_is_cumulative(catalog):
    assert listing().facets.stars == {5: 1, 4: 2, 3: 4}  # OCOP-only: every product listed has 3 or more


def test_group_facet_rolls_up_to_the_top_group(catalog):
    assert [(c.slug, n) for c, n in listing().facets.groups] == [("thuc-pham", 4)]


def test_active_filters_show_as_chips_that_each_remove_one(client, app):
    make_product("Mật ong rừng", stars=4)
    db.session.commit()
    page = client.get("/san-pham?stars=4&in_stock=1&province=bac-ninh").get_data(as_text=True)
    chips = re.findall(r'<a class="chip chip-remove" href="([^"]+)"[^>]*>([^<]+)', page)
    labels = [label.strip() for _href, label in chips]
    assert labels == ["Từ 4 sao", "Bắc Ninh", "Còn hàng"]
    hrefs = {label.strip(): html.unescape(href) for href, label in chips}
    assert hrefs["Từ 4 sao"] == "/san-pham?province=bac-ninh&in_stock=1"
    assert hrefs["Còn hàng"] == "/san-pham?stars=4&province=bac-ninh"
    assert 'details class="filters" id="filters">' in page  # closed: the results come first on a phone
