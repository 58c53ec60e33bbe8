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


@bp.get("/healthz")
def healthz():
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", **checks}), 200 if healthy else 503
