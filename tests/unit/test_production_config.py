"""Production refuses settings that would be unsafe for real shoppers (issue 10 item 12)."""

import secrets

import pytest

from config import production_problems
from shop import create_app

GOOD = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://shop@db.internal/shop",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SITE_URL": "https://cho-ocop.vn",
    "MAIL_SERVER": "smtp.internal",
    "STRIPE_SECRET_KEY": "sk_live_" + "a" * 24,
    "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "b" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "c" * 24,
}


def test_complete_live_settings_pass():
    assert production_problems(GOOD) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": "change-me"}, "placeholder"),
        ({"SECRET_KEY": "test-secret-key"}, "placeholder"),
        ({"SECRET_KEY": "Change-Me-Before-Deploying-Please-1234567890"}, "placeholder"),
        ({"SECRET_KEY": "k3y-0f-31-bytes-is-too-short-x!"}, "at least 32"),
        ({"SECRET_KEY": "a" * 64}, "at least 32"),
        ({"SECRET_KEY": ""}, "missing settings: SECRET_KEY"),
        ({"STRIPE_SECRET_KEY": "sk_test_" + "a" * 24}, "STRIPE_SECRET_KEY is not a live key"),
        ({"STRIPE_PUBLISHABLE_KEY": "pk_test_" + "a" * 24}, "STRIPE_PUBLISHABLE_KEY is not a live key"),
        ({"SITE_URL": "http://cho-ocop.vn"}, "https://"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:////srv/shop.db"}, "SQLite"),
        ({"MAIL_SERVER": None}, "missing settings: MAIL_SERVER"),
    ],
)
def test_a_weak_setting_is_named(change, complaint):
    problems = production_problems({**GOOD, **change})
    assert len(problems) == 1 and complaint in problems[0]


def test_sqlite_is_allowed_when_the_operator_says_so():
    assert (
        production_problems({**GOOD, "SQLALCHEMY_DATABASE_URI": "sqlite:////srv/shop.db", "ALLOW_SQLITE": True}) == []
    )


def test_the_app_does_not_start_in_production_with_a_test_stripe_key(tmp_path):
    with pytest.raises(RuntimeError, match="production refuses to start: STRIPE_SECRET_KEY is not a live key"):
        create_app("production", **{**GOOD, "STRIPE_SECRET_KEY": "sk_test_x" * 4, "MEDIA_DIR": str(tmp_path)})


def test_the_app_starts_in_production_with_sound_settings(tmp_path):
    app = create_app("production", **{**GOOD, "MEDIA_DIR": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["HSTS_SECONDS"] >= 180 * 86400
