"""The pure rules behind promotion weeks: which products a week's scope takes
in, which producers an invitation reaches, when two weeks overlap, and how a
time typed in Vietnam becomes the instant stored."""

from datetime import UTC, datetime, timedelta

import pytest

from shop.formatting import parse_vn_datetime, utc_to_vn_local, vn_local_to_utc
from shop.promotions.week_rules import invites_producer, overlaps, scope_matches

HONEY = {"product_id": 1, "producer_id": 10, "province_id": 100, "category_ids": [7, 3], "stars": 4}


def test_an_empty_scope_takes_in_every_product():
    assert scope_matches({}, **HONEY)
    assert scope_matches(None, **HONEY)


@pytest.mark.parametrize(
    "scope",
    [
        {"products": [1, 2]},
        {"producers": [10]},
        {"provinces": [100, 101]},
        {"categories": [3]},  # a group takes in everything under it
        {"categories": [7]},
        {"min_stars": 4},
        {"provinces": [100], "min_stars": 3, "categories": [3]},
    ],
)
def test_a_product_inside_every_limit_is_in_scope(scope):
    assert scope_matches(scope, **HONEY)


@pytest.mark.parametrize(
    "scope",
    [
        {"products": [2]},
        {"producers": [11]},
        {"provinces": [101]},
        {"categories": [8]},
        {"min_stars": 5},
        {"provinces": [100], "producers": [11]},  # every limit must hold
    ],
)
def test_a_product_outside_any_limit_is_not_in_scope(scope):
    assert not scope_matches(scope, **HONEY)


def test_a_product_without_stars_fails_a_star_limit():
    assert not scope_matches({"min_stars": 3}, **{**HONEY, "stars": None})


def test_an_invitation_reaches_producers_by_name_or_by_province():
    assert invites_producer({}, 10, 100)
    assert invites_producer({"producers": [10]}, 10, 100)
    assert invites_producer({"provinces": [100]}, 10, 100)
    assert not invites_producer({"producers": [11]}, 10, 100)
    assert not invites_producer({"provinces": [101]}, 10, 100)
    # Product rules do not keep a producer out: they limit which SKUs it may enrol.
    assert invites_producer({"categories": [8], "min_stars": 5}, 10, 100)


T = datetime(2025, 5, 20, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_weeks_overlap_only_when_they_share_an_instant():
    assert overlaps(T, T + 2 * H, T + H, T + 3 * H)
    assert overlaps(T, T + 3 * H, T + H, T + 2 * H)
    # A week ending at the very instant the next begins does not overlap it.
    assert not overlaps(T, T + H, T + H, T + 2 * H)
    assert not overlaps(T + H, T + 2 * H, T, T + H)


def test_overlap_treats_naive_times_as_utc():
    assert overlaps(T.replace(tzinfo=None), (T + H).replace(tzinfo=None), T, T + H)


def test_a_time_typed_in_vietnam_is_stored_seven_hours_earlier_in_utc():
    stored = vn_local_to_utc(datetime(2025, 5, 20, 8, 0))
    assert stored == T and stored.tzinfo is UTC
    assert utc_to_vn_local(T) == datetime(2025, 5, 20, 8, 0)
    assert utc_to_vn_local(T.replace(tzinfo=None)) == datetime(2025, 5, 20, 8, 0)


@pytest.mark.parametrize("text", ["2025-05-20T08:00", "2025-05-20T08:00:00", "2025-05-20 08:00", "20/05/2025 08:00"])
def test_a_datetime_picker_or_typed_time_is_read_as_vietnam_time(text):
    assert parse_vn_datetime(text) == T


@pytest.mark.parametrize("text", ["", "20/05/2025", "2025-13-01T08:00", "tomorrow", "2025-05-20T25:00"])
def test_an_unreadable_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_vn_datetime(text)
