from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from shop.extensions import db

bp = Blueprint("health", __name__)


def _check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> dict:
    import redis

    url = current_app.config.get("REDIS_URL")
    if not url:
        return {"ok": False, "error": "REDIS_URL is not set"}
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}


def _check_storage() -> dict:
    from shop.storage import StorageError, storage

    try:
        storage().check()
        return {"ok": True, "backend": storage().name}
    except StorageError as exc:
        return {"ok": False, "error": str(exc)}


@bp.get("/livez")
def livez():
    """The process answers: restart it only when this fails (no dependency is asked)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Send this node traffic? Only the database is required: without Redis pages are
    rendered instead of cached, sign-in limits count per process and tasks wait for
    the sweepers; without the file store photos fail but orders go on. Those degrade
    (200, "degraded"); a node that cannot reach the database is not ready (503)."""
    checks = {"database": _check_database(), "redis": _check_broker(), "storage": _check_storage()}
    if not checks["database"]["ok"]:
        return jsonify({"status": "unavailable", **checks}), 503
    degraded = not all(c["ok"] for c in checks.values())
    return jsonify({"status": "degraded" if degraded else "ok", **checks}), 200


@bp.get("/healthz")
def healthz():
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", **checks}), 200 if healthy else 503
