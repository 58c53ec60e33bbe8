import pytest

from shop.catalog.filters import BadParameter, CatalogFilter, parse_filter


def lenient(args):
    return parse_filter(args, strict=False, per_page=24, max_per_page=24)


def strict(args):
    return parse_filter(args, strict=True, per_page=20, max_per_page=100)


def test_nonsense_on_the_page_is_ignored_or_clamped():
    f = lenient(
        {
            "stars": "abc",
            "page": "-1",
            "sort": "cheap",
            "owner_type": "x",
            "price_min": "lots",
            "in_stock": "maybe",
            "province": "<script>",
        }
    )
    assert f == CatalogFilter(per_page=24)


def test_out_of_range_numbers_are_clamped_on_the_page():
    f = lenient({"stars": "9", "page": "0", "per_page": "1000"})
    assert (f.stars, f.page, f.per_page) == (5, 1, 24)


def test_a_10kb_query_is_cut_to_200_characters_on_the_page():
    assert len(lenient({"q": "bánh " * 2000}).q) <= 200


def test_swapped_price_bounds_are_swapped_back_on_the_page():
    f = lenient({"price_min": "500000", "price_max": "100000"})
    assert (f.price_min, f.price_max) == (100000, 500000)


@pytest.mark.parametrize(
    "args, parameter",
    [
        ({"stars": "abc"}, "stars"),
        ({"stars": "2"}, "stars"),
        ({"page": "-1"}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"sort": "cheap"}, "sort"),
        ({"owner_type": "farm"}, "owner_type"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"q": "x" * 10_000}, "q"),
        ({"group": "thực-phẩm"}, "group"),
    ],
)
def test_the_api_refuses_bad_parameters_by_name(args, parameter):
    with pytest.raises(BadParameter) as err:
        strict(args)
    assert err.value.name == parameter


def test_search_terms_are_folded_words_and_capped():
    f = strict({"q": "BÁNH ĐA kế a b c d e f g h"})
    assert f.terms[:3] == ["banh", "da", "ke"]
    assert len(f.terms) == 8


def test_relevance_without_words_falls_back_to_newest():
    assert strict({}).effective_sort == "newest"
    assert strict({"q": "trà"}).effective_sort == "relevance"


def test_to_args_keeps_only_what_differs_from_the_defaults():
    f = strict({"q": "trà", "stars": "4", "in_stock": "true", "page": "2"})
    assert f.to_args() == {"q": "trà", "stars": "4", "in_stock": "1", "page": "2"}
    assert f.to_args(page=1) == {"q": "trà", "stars": "4", "in_stock": "1"}


def test_in_the_api_a_price_range_upside_down_is_an_empty_range_not_an_error():
    f = parse_filter({"price_min": "9", "price_max": "1"}, strict=True, per_page=20, max_per_page=100)
    assert (f.price_min, f.price_max) == (9, 1)
