from datetime import UTC, date, datetime

import pytest

from shop.formatting import compact_count, rating, today_vn, vn_date, vn_datetime, vnd

NBSP = "\u00a0"


def test_vnd_uses_dots_for_thousands_and_the_dong_sign_after():
    assert vnd(120000) == f"120.000{NBSP}₫"
    assert vnd(1_250_000) == f"1.250.000{NBSP}₫"
    assert vnd(0) == f"0{NBSP}₫"


def test_vnd_in_english_still_has_no_minor_unit():
    assert vnd(120000, "en") == "₫120,000"


@pytest.mark.parametrize("bad", [120000.0, "120000", True])
def test_vnd_refuses_anything_but_an_int(bad):
    with pytest.raises(TypeError):
        vnd(bad)


def test_dates_are_day_month_year():
    assert vn_date(date(2026, 3, 9)) == "09/03/2026"


def test_times_are_shown_in_vietnam_time_on_a_24_hour_clock():
    moment = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)
    assert vn_datetime(moment) == "23/11/2026 00:30"


def test_naive_datetimes_from_sqlite_are_taken_as_utc():
    assert vn_datetime(datetime(2026, 1, 1, 20, 5)) == "02/01/2026 03:05"


def test_the_vietnamese_day_starts_seven_hours_before_utc_midnight():
    assert today_vn(datetime(2026, 5, 31, 16, 59, tzinfo=UTC)) == date(2026, 5, 31)
    assert today_vn(datetime(2026, 5, 31, 17, 0, tzinfo=UTC)) == date(2026, 6, 1)


def test_an_average_rating_has_one_decimal_with_a_comma_in_vietnamese():
    assert (rating(4.66), rating(4.66, "en"), rating(5)) == ("4,7", "4.7", "5,0")


def test_sold_counts_read_as_the_big_marketplaces_print_them_never_rounded_up():
    cases = [(0, "0"), (35, "35"), (999, "999"), (1000, "1k"), (1049, "1k"), (1200, "1,2k"), (1999, "1,9k")]
    cases += [(12_345, "12k"), (999_999, "999k"), (1_000_000, "1tr"), (1_250_000, "1,2tr")]
    assert [compact_count(n) for n, _ in cases] == [text for _, text in cases]
    assert [compact_count(n, "en") for n in (35, 1200, 12_345, 1_250_000)] == ["35", "1.2k", "12k", "1.2M"]


@pytest.mark.parametrize("language, babel_locale", [("vi", "vi_VN"), ("en", "en_US")])
def test_vnd_writes_what_babel_writes_for_the_language(language, babel_locale):
    from babel.numbers import format_currency

    amounts = [0, 1, 9, 10, 999, 1000, 9999, 95_000, 120_000, 1_234_567, 999_999_999, 10**12, -1, -5000, -1_250_000]
    for amount in amounts:
        assert vnd(amount, language) == format_currency(amount, "VND", locale=babel_locale), amount
