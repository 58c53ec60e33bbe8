from datetime import timedelta

import pytest

from shop.catalog.filters import parse_filter
from shop.catalog.queries import list_products
from shop.formatting import today_vn
from tests.support.factories import make_producer, make_product


def search(q: str, **args):
    return list_products(parse_filter({"q": q, **args}, strict=True, per_page=20, max_per_page=100))


@pytest.fixture
def banh_da(app):
    producer = make_producer("Hộ làng Kế", owner_type="household")
    return make_product("Bánh đa Kế", producer=producer, stars=3, description="Bánh đa nướng giòn của làng Kế.")


@pytest.mark.parametrize("q", ["banh da ke", "bánh đa kế", "BANH DA", "Bánh Đa", "banh da"])
def test_vietnamese_search_ignores_tone_marks_and_d_with_stroke(banh_da, q):
    assert [p.name for p in search(q).items] == ["Bánh đa Kế"]


def test_search_matches_word_prefixes_as_people_type(banh_da):
    assert [p.name for p in search("banh d").items] == ["Bánh đa Kế"]


def test_every_word_must_match(banh_da):
    assert search("banh mat ong").total == 0


def test_a_match_in_the_name_ranks_above_a_match_in_the_description(app):
    make_product("Kẹo lạc Nghệ An", description="Ăn kèm trà xanh rất ngon.")
    make_product("Trà xanh Thái Nguyên")
    assert [p.name for p in search("tra xanh").items] == ["Trà xanh Thái Nguyên", "Kẹo lạc Nghệ An"]


def test_search_finds_products_by_producer_and_province(app):
    producer = make_producer("HTX chăn nuôi ong Phong Thổ", province_name="Tuyên Quang")
    make_product("Mật ong Hoa Rừng", producer=producer)
    assert search("phong tho").total == 1
    assert search("tuyen quang").total == 1


def test_search_reflects_renamed_products(app):
    from shop.catalog.services import commit_catalog_change

    product = make_product("Miến dong")
    product.name = "Miến dong Bình Liêu"
    commit_catalog_change([product.id])
    assert search("binh lieu").total == 1


def test_punctuation_only_query_finds_nothing_and_does_not_fail(banh_da):
    result = list_products(parse_filter({"q": '"*()-:^'}, strict=False, per_page=20, max_per_page=20))
    assert result.total == 0


def test_hidden_products_are_not_found(app):
    make_product("Bánh gai nháp", status="draft")
    make_product("Bánh gai tạm ngưng", producer=make_producer(status="suspended"))
    assert search("banh gai").total == 0


def test_an_expired_certificate_drops_out_of_the_star_filter(app):
    make_product("Chè cũ", stars=5, decided=today_vn() - timedelta(days=3 * 366 + 5))
    current = make_product("Chè mới", stars=5)
    result = search("che", stars="5")
    assert [p.id for p in result.items] == [current.id]
    assert result.items[0].stars == 5
