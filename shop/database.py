"""Database URLs and engine settings read from the configuration.

`postgres://` (Heroku, Render, many managed services) and `postgresql://` both mean
the psycopg 3 driver here. The pool (size, overflow, recycle), a per-statement
timeout and pgbouncer's transaction mode (no server-side prepared statements) are
settings; an optional read replica (DATABASE_REPLICA_URL) takes the heaviest
catalog read, the in-memory index's full load, whose incremental sync then
catches up from the primary (so a replica's lag delays nothing)."""

from __future__ import annotations

from typing import Any, overload

from sqlalchemy import CursorResult, Result
from sqlalchemy.orm import Session


@overload
def normalise_url(url: str) -> str: ...
@overload
def normalise_url(url: None) -> None: ...
@overload
def normalise_url(url: str | None) -> str | None: ...
def normalise_url(url: str | None) -> str | None:
    """Spell every PostgreSQL URL with the psycopg 3 driver SQLAlchemy must use."""
    if not url:
        return url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(config, url: str) -> dict:
    """SQLAlchemy engine options for `url` from DB_* settings (PostgreSQL only; SQLite
    keeps its defaults)."""
    options: dict = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_pre_ping", True)
    if not url.startswith("postgresql"):
        return options
    options["pool_size"] = int(config.get("DB_POOL_SIZE") or 5)
    options["max_overflow"] = int(config.get("DB_MAX_OVERFLOW") or 10)
    options["pool_recycle"] = int(config.get("DB_POOL_RECYCLE") or 1800)
    options["pool_timeout"] = int(config.get("DB_POOL_TIMEOUT") or 10)
    connect_args: dict = dict(options.get("connect_args") or {})
    connect_args.setdefault("connect_timeout", int(config.get("DB_CONNECT_TIMEOUT") or 5))
    if config.get("DB_PGBOUNCER"):
        # Transaction pooling hands each transaction another server connection: a
        # statement prepared on one is unknown on the next. pgbouncer also refuses
        # unknown start-up parameters, so the statement timeout belongs to the role
        # there (ALTER ROLE shop SET statement_timeout = '15s').
        connect_args["prepare_threshold"] = None
    elif config.get("DB_STATEMENT_TIMEOUT_MS"):
        connect_args["options"] = f"-c statement_timeout={int(config['DB_STATEMENT_TIMEOUT_MS'])}"
    options["connect_args"] = connect_args
    return options


def configure_database(app) -> None:
    """Normalise the URLs and fill in engine options before Flask-SQLAlchemy reads them."""
    config = app.config
    url = normalise_url(config["SQLALCHEMY_DATABASE_URI"])
    config["SQLALCHEMY_DATABASE_URI"] = url
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config, url)
    replica = normalise_url(config.get("DATABASE_REPLICA_URL"))
    if replica:
        binds = dict(config.get("SQLALCHEMY_BINDS") or {})
        binds["replica"] = {"url": replica, **engine_options(config, replica)}
        config["SQLALCHEMY_BINDS"] = binds


def catalog_read_session() -> Session:
    """A session for heavy catalog reads: on the replica when one is configured,
    else the request's own session. Close it when done (the request's is left open)."""
    from flask import current_app

    from shop.extensions import db

    if not current_app.config.get("DATABASE_REPLICA_URL"):
        return db.session()
    return Session(bind=db.engines["replica"])


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. Session.execute() is typed to
    return a Result; for those statements it is the CursorResult that counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count on {type(result).__name__} (not an UPDATE or DELETE)")
    return result.rowcount
