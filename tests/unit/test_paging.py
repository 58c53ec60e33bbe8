"""The one pager (shop.paging): the page count never falls below one, a counted page
knows whether another follows."""

from shop.paging import counted, page_count


def test_an_empty_list_is_one_empty_page_and_pages_round_up():
    assert [page_count(n, 30) for n in (0, 1, 30, 31, 90, 91)] == [1, 1, 1, 2, 3, 4]


def test_a_counted_page_knows_its_neighbours():
    first, last = counted([1, 2], 1, 4, 2), counted([3, 4], 2, 4, 2)
    assert (first.pages, first.total, first.has_next) == (2, 4, True)
    assert last.has_next is False
