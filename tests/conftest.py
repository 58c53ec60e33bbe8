"""Shared fixtures: app (SQLite file made by the migrations), client, runner,
and the real servers some tiers need (PostgreSQL, Redis)."""

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


@pytest.fixture(scope="session")
def postgres_server():
    base = Path(tempfile.mkdtemp(prefix="ocop-pg-"))
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


def _postgres_url(server: PostgresServer, template: str) -> str:
    return server.create_database(f"test_{next(_pg_counter)}", template=template)


@pytest.fixture(params=["sqlite"])
def backend(request):
    """Which database the app fixture uses; integration tests widen it to PostgreSQL."""
    return request.param


@pytest.fixture
def app(request, backend, sqlite_template, tmp_path):
    media = tmp_path / "media"
    if backend == "postgresql":
        url = _postgres_url(request.getfixturevalue("postgres_server"), request.getfixturevalue("postgres_template"))
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
