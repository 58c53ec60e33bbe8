"""Page cache for anonymous catalog reads, invalidated by a catalog version.

Any change that alters what shoppers see (a product, price, stock, certificate,
producer status) calls `bump_catalog_version()` after its commit; cached pages
are keyed by that version, so stale pages are never served and old entries
simply expire. Requests that carry a session cookie are never cached, and a
cache that does not answer (Redis down) only costs a render.
"""

import functools
import logging

from flask import current_app, g, make_response, request
from flask_babel import get_locale
from flask_caching import Cache

from shop.formatting import today_vn

log = logging.getLogger(__name__)
cache = Cache()
VERSION_KEY = "catalog-version"


def cache_config(app_config: dict) -> dict:
    url = app_config.get("REDIS_URL")
    if url and (app_config.get("PAGE_CACHE_SECONDS", 0) > 0 or app_config.get("VALUE_CACHE_SECONDS", 0) > 0):
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_KEY_PREFIX": "shop:"}
    return {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}


def catalog_version() -> int:
    if "catalog_version" not in g:
        try:
            g.catalog_version = int(cache.get(VERSION_KEY) or 0)
        except Exception:  # noqa: BLE001 - a cache outage must not break pages
            log.warning("cache unavailable; rendering without it", exc_info=True)
            g.catalog_version = -1
    return g.catalog_version


def bump_catalog_version() -> None:
    """Invalidate every cached catalog page (call after the commit)."""
    try:
        if cache.cache.inc(VERSION_KEY) is None:
            cache.set(VERSION_KEY, 1, timeout=0)
    except Exception:  # noqa: BLE001
        log.warning("could not bump the catalog version", exc_info=True)


def cached_value(key: str, compute):
    """`compute()` once per catalog version: for results that are costly to
    compute and plain to store (lists of tuples, numbers, strings)."""
    seconds = current_app.config["VALUE_CACHE_SECONDS"]
    version = catalog_version() if seconds > 0 else -1
    if version < 0:
        return compute()
    full_key = f"value:{version}:{key}"
    try:
        hit = cache.get(full_key)
    except Exception:  # noqa: BLE001
        hit = None
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(full_key, value, timeout=seconds)
    except Exception:  # noqa: BLE001
        log.warning("could not store a value in the cache", exc_info=True)
    return value


def is_personal_request() -> bool:
    """Whether the visitor has a session or a remember-me cookie: their pages may
    hold personal content and are never taken from or put in the page cache."""
    names = (
        current_app.config.get("SESSION_COOKIE_NAME", "session"),
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )
    return any(name in request.cookies for name in names)


def cached_page(view):
    """Serve an anonymous GET from the page cache, keyed by catalog version,
    language and the full URL."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        seconds = current_app.config["PAGE_CACHE_SECONDS"]
        if seconds <= 0 or request.method != "GET" or is_personal_request():
            return view(*args, **kwargs)
        version = catalog_version()
        if version < 0:
            return view(*args, **kwargs)
        # The Vietnam date is part of the key: a certificate that lapses at
        # midnight takes its star badge off every page at once. So is the set of
        # running promotion weeks: a week's prices show from its first second to
        # its last, never from a page cached before it started or after it ended.
        from shop.promotions.pricing import state_token  # pricing reads through this module

        key = f"page:{version}:{today_vn().isoformat()}:{state_token()}:{get_locale()}:{request.full_path}"
        try:
            hit = cache.get(key)
        except Exception:  # noqa: BLE001
            hit = None
        if hit is not None:
            body, status, mimetype = hit
            return current_app.response_class(body, status=status, mimetype=mimetype)
        response = make_response(view(*args, **kwargs))
        if response.status_code in (200, 404) and not response.direct_passthrough:
            try:
                cache.set(key, (response.get_data(), response.status_code, response.mimetype), timeout=seconds)
            except Exception:  # noqa: BLE001
                log.warning("could not store a page in the cache", exc_info=True)
        return response

    return wrapper
