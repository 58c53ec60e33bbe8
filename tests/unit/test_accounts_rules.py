import time

import pytest

from shop.accounts import tokens
from shop.accounts.phone import InvalidPhone, format_phone, is_valid_phone, normalise_phone
from shop.accounts.rules import InvalidEmail, normalise_email, password_problem
from shop.extensions import limiter_storage_uri
from shop.urls import local_path as safe_next

SECRET = "unit-test-secret"


@pytest.mark.parametrize(
    "typed",
    ["0912 345 678", "0912.345.678", "0912-345-678", "+84912345678", "+84 912 345 678", "84912345678", "0084912345678"],
)
def test_a_mobile_number_is_stored_in_its_domestic_form(typed):
    assert normalise_phone(typed) == "0912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_every_mobile_prefix_is_accepted(prefix):
    assert normalise_phone(prefix + "12345678") == prefix + "12345678"


def test_a_landline_has_eleven_digits_and_starts_with_02():
    assert normalise_phone("(024) 3825 1234") == "02438251234"
    assert normalise_phone("+84 28 3822 1234") == "02838221234"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "091234567",  # nine digits
        "09123456789",  # a mobile with eleven digits
        "0212345678",  # a landline with ten digits
        "0112345678",  # no such prefix
        "0412345678",
        "0612345678",
        "1912345678",  # no leading zero
        "+1 912 345 6789",
        "0912abc678",
        "84 1234",
    ],
)
def test_numbers_that_are_not_vietnamese_are_refused(typed):
    assert not is_valid_phone(typed)
    with pytest.raises(InvalidPhone):
        normalise_phone(typed)


def test_a_stored_number_is_grouped_for_reading():
    assert format_phone("0912345678") == "0912 345 678"
    assert format_phone("02438251234") == "0243 825 1234"
    assert format_phone("") == ""


def test_a_password_needs_eight_characters_and_not_only_digits():
    assert password_problem("short1") is not None
    assert password_problem("12345678901") is not None
    assert password_problem("x" * 129) is not None
    assert password_problem("demo12345") is None
    assert password_problem("mật khẩu dài") is None


def test_an_email_is_lower_cased_and_checked_without_asking_dns():
    assert normalise_email("  Lan.Nguyen@Example.COM ") == "lan.nguyen@example.com"
    for bad in ("", "lan", "lan@", "@example.com", "lan@@example.com", "lan nguyen@example.com"):
        with pytest.raises(InvalidEmail):
            normalise_email(bad)


@pytest.mark.parametrize("target", ["/", "/gio-hang", "/san-pham?q=mat+ong&page=2", "/tai-khoan/dia-chi"])
def test_next_accepts_paths_on_this_site(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "gio-hang",
        "/\x00x",
        "http:/evil.example",
    ],
)
def test_next_refuses_anything_that_could_leave_the_site(target):
    assert safe_next(target) is None


def test_a_token_reads_back_its_payload_only_for_its_own_purpose():
    token = tokens.make_token(SECRET, tokens.VERIFY_EMAIL, {"uid": 7, "email": "lan@example.com"})
    assert tokens.read_token(SECRET, tokens.VERIFY_EMAIL, token, max_age=60) == {"uid": 7, "email": "lan@example.com"}
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_token(SECRET, tokens.RESET_PASSWORD, token, max_age=60)
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_token("another-secret", tokens.VERIFY_EMAIL, token, max_age=60)
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_token(SECRET, tokens.VERIFY_EMAIL, token[:-2] + "xx", max_age=60)


def test_a_reset_token_lasts_an_hour_and_not_a_second_more():
    an_hour_ago = int(time.time()) - 3600
    fresh = tokens.make_token(SECRET, tokens.RESET_PASSWORD, {"uid": 1}, issued_at=an_hour_ago + 5)
    stale = tokens.make_token(SECRET, tokens.RESET_PASSWORD, {"uid": 1}, issued_at=an_hour_ago - 5)
    assert tokens.read_token(SECRET, tokens.RESET_PASSWORD, fresh, max_age=3600) == {"uid": 1}
    with pytest.raises(tokens.TokenExpired):
        tokens.read_token(SECRET, tokens.RESET_PASSWORD, stale, max_age=3600)


def test_a_verification_token_lasts_three_days():
    three_days = 3 * 86400
    two_days_ago = int(time.time()) - 2 * 86400
    four_days_ago = int(time.time()) - 4 * 86400
    ok = tokens.make_token(SECRET, tokens.VERIFY_EMAIL, {"uid": 1}, issued_at=two_days_ago)
    old = tokens.make_token(SECRET, tokens.VERIFY_EMAIL, {"uid": 1}, issued_at=four_days_ago)
    assert tokens.read_token(SECRET, tokens.VERIFY_EMAIL, ok, max_age=three_days)
    with pytest.raises(tokens.TokenExpired):
        tokens.read_token(SECRET, tokens.VERIFY_EMAIL, old, max_age=three_days)


def test_the_password_fingerprint_changes_with_the_hash():
    assert tokens.password_fingerprint("$argon2id$a") == tokens.password_fingerprint("$argon2id$a")
    assert tokens.password_fingerprint("$argon2id$a") != tokens.password_fingerprint("$argon2id$b")


def test_rate_limits_are_counted_in_redis_when_the_app_has_one():
    assert limiter_storage_uri({"RATELIMIT_STORAGE_URI": "memory://"}) == "memory://"
    assert limiter_storage_uri({"RATELIMIT_STORAGE_URI": "memory://", "REDIS_URL": "redis://h:6379/0"}) == (
        "redis://h:6379/0"
    )
    assert limiter_storage_uri({"RATELIMIT_STORAGE_URI": "memory://", "REDIS_URL": "unix:///tmp/r.sock?db=0"}) == (
        "redis+unix:///tmp/r.sock?db=0"
    )
    explicit = {"RATELIMIT_STORAGE_URI": "memcached://m:11211", "REDIS_URL": "redis://h:6379/0"}
    assert limiter_storage_uri(explicit) == "memcached://m:11211"


def test_passwords_are_hashed_with_the_strong_parameters_unless_the_tests_ask_for_speed():
    from flask import Flask

    from shop.accounts.passwords import hash_password

    assert "m=65536,t=3,p=4" in hash_password("mat-khau-an-toan-1")  # RFC 9106 defaults
    app = Flask(__name__)
    app.config["FAST_PASSWORD_HASHING"] = True
    with app.app_context():
        assert "m=8,t=1,p=1" in hash_password("mat-khau-an-toan-1")


def test_wrong_passwords_wait_twice_as_long_each_time_and_never_more_than_a_minute():
    from shop.accounts.throttle import wait_seconds

    assert [wait_seconds(n) for n in range(1, 12)] == [0, 0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
