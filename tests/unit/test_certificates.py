from datetime import date

from shop.producers.rules import certificate_expiry, shown_stars


def test_a_certificate_is_valid_for_36_months_from_its_decision():
    assert certificate_expiry(date(2024, 6, 12)) == date(2027, 6, 12)


def test_a_leap_day_decision_expires_on_the_last_day_of_february():
    assert certificate_expiry(date(2024, 2, 29)) == date(2027, 2, 28)


def test_stars_show_through_the_last_day_of_validity():
    assert shown_stars("verified", 4, date(2027, 6, 12), today=date(2027, 6, 12)) == 4


def test_stars_disappear_the_day_after_expiry():
    assert shown_stars("verified", 4, date(2027, 6, 12), today=date(2027, 6, 13)) is None


def test_an_unverified_certificate_shows_no_stars():
    assert shown_stars("pending", 5, date(2030, 1, 1), today=date(2026, 1, 1)) is None
    assert shown_stars("rejected", 5, date(2030, 1, 1), today=date(2026, 1, 1)) is None
