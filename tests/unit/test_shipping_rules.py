import pytest

from shop.shipping.rules import (
    DEFAULT_RATES,
    DELIVERY_DAYS,
    Rate,
    delivery_days,
    parcel_fee,
    shipping_fee,
    zone_between,
)


def test_zones_go_from_same_province_to_same_region_to_elsewhere():
    assert zone_between(1, "north", 1, "north") == "same_province"
    assert zone_between(1, "north", 2, "north") == "same_region"
    assert zone_between(1, "north", 30, "south") == "elsewhere"


def test_the_lightest_band_that_holds_the_parcel_applies():
    assert parcel_fee("same_region", 1000, DEFAULT_RATES) == 25_000
    assert parcel_fee("same_region", 1001, DEFAULT_RATES) == 35_000


def test_heavy_parcels_pay_per_started_kilogram_above_the_top_band():
    assert parcel_fee("elsewhere", 5000, DEFAULT_RATES) == 65_000
    assert parcel_fee("elsewhere", 5001, DEFAULT_RATES) == 75_000
    assert parcel_fee("elsewhere", 7000, DEFAULT_RATES) == 85_000


def test_free_shipping_from_the_producers_threshold():
    assert shipping_fee("elsewhere", 800, 499_999, DEFAULT_RATES, free_threshold=500_000) == 35_000
    assert shipping_fee("elsewhere", 800, 500_000, DEFAULT_RATES, free_threshold=500_000) == 0
    assert shipping_fee("elsewhere", 800, 10**9, DEFAULT_RATES, free_threshold=None) == 35_000


def test_a_zone_without_rates_is_an_error_not_free_shipping():
    with pytest.raises(ValueError):
        parcel_fee("elsewhere", 100, [Rate("same_province", 1000, 1)])


def test_each_zone_has_one_delivery_window_and_nearer_is_never_slower():
    assert delivery_days("same_province") == (1, 2) and delivery_days(None) is None
    windows = [DELIVERY_DAYS[z] for z in ("same_province", "same_region", "elsewhere")]
    assert windows == sorted(windows) and all(low <= high for low, high in windows)
