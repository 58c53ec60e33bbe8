"""Small request helpers the console's route modules share."""

from flask import request
from flask_babel import get_locale

from shop.inputs import parse_int
from shop.urls import local_path


def _locale() -> str:
    return str(get_locale() or "vi")


def _int_arg(name: str) -> int | None:
    return parse_int(request.args.get(name), minimum=1)


def _page() -> int:
    return _int_arg("page") or 1


def _next(default: str) -> str:
    """Where to go after a decision: a console page the form named, else `default`."""
    target = local_path(request.form.get("next"))
    if target and target.startswith("/ops/"):
        return target
    return default
