import pytest

from shop.cache import make_shared_cache
from tests.support.stripe import LocalStripe, stripe_config


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request):
    """Integration tests run on SQLite and on the PostgreSQL server the suite starts."""
    return request.param


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """One localstripe for the integration tests that pay by card."""
    server = LocalStripe(log_path=tmp_path_factory.mktemp("localstripe") / "localstripe.log").start()
    yield server
    server.stop()


@pytest.fixture
def card_payments(app, localstripe):
    """The app paying through localstripe."""
    app.config.update(stripe_config(localstripe))
    return localstripe


@pytest.fixture
def cached(app, redis_server):
    """The app with its page cache on the suite's redis-server, emptied."""
    app.config.update(PAGE_CACHE_SECONDS=300, VALUE_CACHE_SECONDS=300, REDIS_URL=redis_server.url)
    app.extensions["shared_cache"] = make_shared_cache(app.config)
    app.extensions["shared_cache"].store.clear()
    return app
