"""Domain errors, mapped to HTTP once, at the edge."""

import contextlib
from typing import TypeAlias

from flask import abort, jsonify, render_template, request
from flask_babel import LazyString
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sqlalchemy_exc
from werkzeug.exceptions import HTTPException

# What a refusal says to people: a plain string, or (better) a lazy_gettext one that is
# translated when it is read, in the language of whoever reads it.
Message: TypeAlias = "str | LazyString"


class ShopError(Exception):
    """A refusal a user can act on: `code` is stable, `message` is for people.

    Services raise with a lazy message (`lazy_gettext as _l`): it is translated
    when it is read, at the edge, in the language of the request that shows it
    (or the default language in a task or command)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: Message, *, code: str | None = None):
        super().__init__(message)
        self._message = message
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self._message)

    def __str__(self) -> str:
        return self.message


class NotFound(ShopError):
    status = 404
    code = "not_found"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def json_error(status: int, code: str, message: str, **extra):
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), status


# Longest address the shop answers (what nginx's default 8 KB buffers let through); longer
# ones get the shop's own 414 page rather than a server's bare refusal.
MAX_URL = 8190


def register_error_handlers(app) -> None:
    @app.before_request
    def refuse_long_addresses():
        if len(request.environ.get("RAW_URI") or request.full_path) > MAX_URL:
            abort(414)

    @app.errorhandler(ShopError)
    def shop_error(err: ShopError):
        if wants_json():
            return json_error(err.status, err.code, err.message)
        return render_template("errors/error.html", status=err.status, message=err.message), err.status

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        if wants_json():
            return json_error(400, "csrf_failed", err.description)
        return render_template("errors/error.html", status=400, message=None, csrf=True), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code = (err.name or "error").lower().replace(" ", "_")
        # The exception's own headers go along: Allow on a 405, WWW-Authenticate, Retry-After.
        headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
        if wants_json():
            response, status = json_error(err.code or 500, code, err.description or err.name)
            response.headers.extend(headers)
            return response, status
        return render_template("errors/error.html", status=err.code, message=None), err.code, headers

    @app.errorhandler(sqlalchemy_exc.OperationalError)
    @app.errorhandler(sqlalchemy_exc.InterfaceError)
    def database_unavailable(err: sqlalchemy_exc.DBAPIError):
        # The database is unreachable (restarting, failing over) or busy: a clear 503
        # the browser and any proxy may retry, instead of a 500. The page needs no
        # database (base.html reads some), and the pool drops the dead connections;
        # pool_pre_ping checks the next ones before use.
        from shop.extensions import db

        app.logger.warning("database unavailable: %s", err.orig if err.orig is not None else err)
        with contextlib.suppress(Exception):
            db.session.rollback()
        headers = {"Retry-After": "5", "Cache-Control": "no-store"}
        if wants_json():
            body, status = json_error(503, "unavailable", "The service is briefly unavailable; try again in a moment.")
            return body, status, headers
        return render_template("errors/unavailable.html"), 503, headers

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        app.logger.exception("unhandled error")
        if wants_json():
            return json_error(500, "internal_error", "Something went wrong on our side.")
        return render_template("errors/error.html", status=500, message=None), 500
