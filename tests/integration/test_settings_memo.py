"""Settings kept in each process between changes (`shop.settings.services._stored`),
checked against the ``site`` tag on the suite's redis-server: a second app stands for
a second process (its own memos and database session)."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from shop import create_app
from shop.cache import make_shared_cache
from shop.extensions import db
from shop.settings import services as settings
from shop.settings.models import Setting


@pytest.fixture
def elsewhere(cached, tmp_path):
    """Another process of the same shop: same database, same redis-server."""
    other = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=cached.config["SQLALCHEMY_DATABASE_URI"],
        MEDIA_DIR=str(tmp_path / "other-media"),
        PAGE_CACHE_SECONDS=300,
        VALUE_CACHE_SECONDS=300,
        REDIS_URL=cached.config["REDIS_URL"],
    )
    other.extensions["shared_cache"] = make_shared_cache(other.config)
    yield other
    with other.app_context():
        db.engine.dispose()


def settings_selects(app) -> list[str]:
    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, *_args):
        if f"FROM {Setting.__table__.name}" in statement:
            seen.append(statement)

    return seen


@contextmanager
def request_in(app):
    """A request with its own `g`, as a real one has (the `app` fixture's context is
    otherwise shared by every request of a test)."""
    with app.app_context(), app.test_request_context("/"):
        yield


def read(app, key: str) -> int:
    with request_in(app):
        return settings.get_int(key)


def test_settings_are_read_once_per_process_until_one_changes_anywhere(cached, elsewhere):
    selects = settings_selects(cached)
    assert read(cached, "cod_max_amount") == 3_000_000
    assert len(selects) == 1
    assert read(cached, "cod_max_amount") == 3_000_000
    assert len(selects) == 1, "the second request read the settings again"
    with request_in(elsewhere):
        settings.set_int("cod_max_amount", 2_000_000)
        db.session.commit()
    assert read(cached, "cod_max_amount") == 2_000_000
    assert len(selects) == 2


def test_a_change_is_read_back_in_the_request_that_made_it(cached):
    assert read(cached, "unstarred_section") == 0
    with request_in(cached):
        assert settings.get_int("unstarred_section") == 0
        settings.set_int("unstarred_section", 1)
        assert settings.get_int("unstarred_section") == 1
        db.session.commit()
        assert settings.get_int("unstarred_section") == 1
    assert read(cached, "unstarred_section") == 1


def test_a_rolled_back_change_is_not_kept(cached):
    assert read(cached, "card_reservation_minutes") == 15
    with request_in(cached):
        settings.set_int("card_reservation_minutes", 30)
        db.session.rollback()
        assert settings.get_int("card_reservation_minutes") == 15
    assert read(cached, "card_reservation_minutes") == 15
