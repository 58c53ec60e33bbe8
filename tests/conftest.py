"""Shared fixtures: app (SQLite file made by the migrations), client, runner,
and the real servers some tiers need (PostgreSQL, Redis)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from flask_migrate import upgrade

from shop import create_app
from shop.reference import load_reference_data
from tests.support.auth import AuthActions
from tests.support.servers import PostgresServer, RedisServer, S3Server


def _make_app(database_url: str, media_dir: Path, **overrides):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, MEDIA_DIR=str(media_dir), **overrides)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database with reference data, copied for each test."""
    base = tmp_path_factory.mktemp("sqlite-template")
    path = base / "template.db"
    app = _make_app(f"sqlite:///{path}", base / "media")
    with app.app_context():
        upgrade()
        load_reference_data()
        from shop.extensions import db

        db.engine.dispose()
    return path


def _memory_folder() -> str | None:
    """/dev/shm where it is a writable tmpfs: each PostgreSQL test copies an 11 MB
    template, 500-900 ms on this machine's disk and 80-145 ms in memory."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@pytest.fixture(scope="session")
def postgres_server():
    base = Path(tempfile.mkdtemp(prefix="ocop-pg-", dir=_memory_folder()))
    server = PostgresServer(base).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One S3-compatible store (moto server) on loopback for the session."""
    server = S3Server(log_path=tmp_path_factory.mktemp("s3") / "moto.log").start()
    yield server
    server.stop()


_bucket_counter = iter(range(10**6))


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket for one test."""
    return s3_server.create_bucket(f"ocop-test-{next(_bucket_counter)}")


_pg_counter = iter(range(10**6))


@pytest.fixture(scope="session")
def postgres_template(postgres_server, tmp_path_factory) -> str:
    """A migrated PostgreSQL database with reference data; each test gets a copy."""
    url = postgres_server.create_database("template_shop")
    app = _make_app(url, tmp_path_factory.mktemp("pg-template-media"))
    with app.app_context():
        upgrade()
        load_reference_data()
        from shop.extensions import db

        db.engine.dispose()
    return "template_shop"


@pytest.fixture(params=["sqlite"])
def backend(request):
    """Which database the app fixture uses; integration tests widen it to PostgreSQL."""
    return request.param


@pytest.fixture
def app(request, backend, sqlite_template, tmp_path):
    media = tmp_path / "media"
    server, name = None, ""
    if backend == "postgresql":
        server, name = request.getfixturevalue("postgres_server"), f"test_{next(_pg_counter)}"
        url = server.create_database(name, template=request.getfixturevalue("postgres_template"))
    else:
        db_path = tmp_path / "test.db"
        shutil.copy(sqlite_template, db_path)
        url = f"sqlite:///{db_path}"
    application = _make_app(url, media)
    ctx = application.app_context()
    ctx.push()
    yield application
    from shop.extensions import db

    db.session.remove()
    db.engine.dispose()
    ctx.pop()
    if server is not None:  # a thousand copies would fill the memory folder
        server.drop_database(name)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    """`auth.login(email)` signs the test client in through the real form."""
    return AuthActions(client)


def pytest_xdist_make_scheduler(config, log):
    """How `make test` shares the suite between its two xdist workers (`--dist
    loadfile`): a test module stays on one worker, so its module fixtures are built
    once, and the browser tier stays whole on one worker, with one server and one
    Chromium, in the order it is written. (`--dist loadgroup` with marks would say
    the same, but pytest 9 no longer lets xdist 3.8 rename the items it groups.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByModuleBrowserTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/e2e" if path.startswith("tests/e2e/") else path

    return ByModuleBrowserTogether(config, log)
