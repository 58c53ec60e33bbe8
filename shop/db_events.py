"""Per-connection database settings."""

import contextlib
import logging

from sqlalchemy import event
from sqlalchemy import exc as sqlalchemy_exc

from shop.extensions import db

log = logging.getLogger(__name__)


def register_db_events(app) -> None:
    _close_sessions_quietly(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def sqlite_pragmas(dbapi_connection, _record):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def _close_sessions_quietly(app) -> None:
    """Closing a request's session rolls back on its connection; if the database has
    just cut that connection (a restart), the rollback raises after the response was
    made and would turn it into a 500. The connection is invalidated by then, so the
    session is dropped and the pool opens a new connection next time. (Registered
    after Flask-SQLAlchemy's own teardown, so it runs first.)"""

    @app.teardown_appcontext
    def close_session(_exc):
        try:
            db.session.remove()
        except sqlalchemy_exc.DBAPIError as err:
            log.warning("closing a session on a connection the database dropped: %s", err.orig or err)
            with contextlib.suppress(sqlalchemy_exc.DBAPIError):
                db.session.remove()
