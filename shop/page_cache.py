"""One cached page for everyone; personal parts apart; HTTP caching and compression.

Catalog pages (`@cached_page`) are rendered once for every visitor — anonymous,
signed in or holding a cart — without anything personal in them: the header's
cart count, account menu, e-mail verification banner and producer/operator links
are filled in after load from `/ca-nhan` (the idea of Magento's private-content
sections), and the page stays usable without scripts. Forms on such pages carry
no per-session token: `shop.csrf` accepts a token-less POST only when the
browser says it comes from this site (Sec-Fetch-Site / Origin).

A page is rendered for its visitor alone (and not stored) only while flashed
messages wait for them (the `ocop_msg` cookie says so), so that a message
shown after an action reads the same with or without scripts.

Hits are served by `PageCacheMiddleware` in front of Flask: one round trip to
the store, no session, no database. Entries are stored with their tags (see
`shop.cache`) and with the instant their content changes by time alone — a
promotion week starting or ending, Vietnam midnight — registered by the layers
above through `register_expiry`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import time
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.http import parse_cookie

from shop.cache import GLOBAL_TAGS, LocalMemo, StoreDown, shared_cache, start_render
from shop.formatting import utcnow
from shop.observability import PAGE_CACHE, REQUEST_ID_HEADER, incoming_request_id, observe_request
from shop.security import cookie_secure

MESSAGE_COOKIE = "ocop_msg"  # flashed messages wait: render this visitor's next page for them
PERSONAL_COOKIE = "ocop_p"  # readable by scripts: this visitor has a session, ask /ca-nhan
MAX_KEY_LENGTH = 2000
# zlib's fastest strategy (levels 1-3): a 32 KB listing took 0.18 ms and 6.3 KB at 3
# against 0.71 ms and 5.7 KB at 6, a tenth of a first view's CPU for 10% more bytes.
GZIP_LEVEL = 3
_SKIPPED_HEADERS = {"set-cookie", "content-length", "content-encoding", "date", "cache-control", "vary", "etag"}


def _now() -> float:
    return utcnow().timestamp()


def register_expiry(app, source: Callable[[float], float | None]) -> None:
    """`source(now)` gives the next instant (epoch seconds) at which pages may
    change without any write, or None. Cached pages expire at the earliest."""
    app.extensions.setdefault("page_expiry", []).append(source)


def _expires_at(now: float, seconds: int) -> float:
    limit = now + seconds
    for source in current_app.extensions.get("page_expiry", ()):
        moment = source(now)
        if moment is not None and moment < limit:
            limit = moment
    return limit


def enabled() -> bool:
    return current_app.config["PAGE_CACHE_SECONDS"] > 0


def is_shared() -> bool:
    """Whether the page being rendered goes to everyone (so holds nothing personal)."""
    return bool(g.get("shared_page"))


# Parameters that ads, social networks and newsletters add to links and no page reads
# (Google, Facebook, Zalo, TikTok, Microsoft, Mailchimp; utm_* below). Every click would
# otherwise be a page nobody asked for: a promotion week's ad traffic never hit the cache.
TRACKING_PARAMETERS = frozenset(
    ("fbclid", "gclid", "gbraid", "wbraid", "dclid", "msclkid", "ttclid", "zarsrc", "zalo_source", "mc_cid", "mc_eid")
)


def _without_tracking(query: str) -> str:
    """The query string without tracking parameters (the rest as sent, in order)."""
    parts = query.split("&")
    kept = [
        part
        for part in parts
        if not (name := part.split("=", 1)[0].lower()).startswith("utm_") and name not in TRACKING_PARAMETERS
    ]
    return query if len(kept) == len(parts) else "&".join(kept)


def page_key(environ: dict, languages: tuple[str, ...], default: str) -> str | None:
    lang = parse_cookie(environ).get("lang") if "lang=" in environ.get("HTTP_COOKIE", "") else None
    if lang not in languages:
        lang = default
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    key = f"pg:{lang}:{path}?{query}"
    return key if len(key) <= MAX_KEY_LENGTH else None


def _wants_gzip(environ: dict) -> bool:
    return "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower()


def _etag_matches(environ: dict, etag: str) -> bool:
    given = environ.get("HTTP_IF_NONE_MATCH")
    if not given:
        return False
    bare = etag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") in (bare, "*") for part in given.split(","))


def _cache_control(expires: float, shared_max_age: int) -> str:
    left = max(0, int(expires - _now()))
    return f"public, max-age=0, must-revalidate, s-maxage={min(left, shared_max_age)}"


# Set on the views cached_page serves (functools.wraps carries it onto any outer
# decorator's wrapper); the middleware finds their endpoints by it.
SHARED_VIEW_MARK = "shared_page"


def cached_page(view):
    """Serve a GET from the shared page cache; on a miss render it for everyone and store it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not enabled() or request.method not in ("GET", "HEAD") or MESSAGE_COOKIE in request.cookies:
            return view(*args, **kwargs)
        config = current_app.config
        key = page_key(request.environ, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
        if key is None:
            return view(*args, **kwargs)
        if not request.environ.get("shop.page_cache.looked"):
            served = lookup(request.environ, key, shared_cache(), config)
            if served is not None:
                status, headers, body = served
                return current_app.response_class(body, status=status, headers=headers)
        g.shared_page = True
        g.cache_tags = set(GLOBAL_TAGS)
        g.page_key = key
        g.page_s0 = start_render(request.environ.get("shop.page_cache.miss"))
        g.page_started = _now()
        return view(*args, **kwargs)

    setattr(wrapper, SHARED_VIEW_MARK, True)
    return wrapper


def store_and_finish(response):
    """After a shared render: store the page (with gzip) and answer with validators.
    Runs after every other after-request hook, so stored headers are final."""
    environ = request.environ
    if response.status_code not in (200, 404) or response.direct_passthrough or "Set-Cookie" in response.headers:
        response.headers["Cache-Control"] = "no-store"
        return response
    body = response.get_data()
    now = _now()
    config = current_app.config
    # From when the render began: a week edge passed while rendering ends the page at once.
    expires = _expires_at(g.page_started, config["PAGE_CACHE_SECONDS"])
    etag = 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    zipped = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _SKIPPED_HEADERS]
    meta = {"status": response.status_code, "headers": headers, "etag": etag, "expires": expires}
    s0 = g.get("page_s0")
    if s0 is not None and expires > now:
        with contextlib.suppress(StoreDown):
            shared_cache().set(
                g.page_key,
                s0,
                g.cache_tags,
                {"m": json.dumps(meta).encode(), "z": zipped},
                int(expires - now) + 1,
            )
    status, out_headers, out_body = _answer(environ, meta, zipped if _wants_gzip(environ) else body, config)
    response.status_code = status
    response.headers.clear()
    for k, v in out_headers:
        response.headers.add(k, v)
    response.set_data(out_body)
    return response


def _answer(environ: dict, meta: dict, body: bytes, config) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = list(meta["headers"])
    headers += [
        ("ETag", meta["etag"]),
        ("Cache-Control", _cache_control(meta["expires"], config["PAGE_SHARED_MAX_AGE"])),
        ("Vary", "Accept-Encoding, Cookie"),
    ]
    zipped = _wants_gzip(environ)
    if meta["status"] == 200 and _etag_matches(environ, meta["etag"]):
        return 304, [h for h in headers if h[0].lower() != "content-type"], b""
    if zipped:
        headers.append(("Content-Encoding", "gzip"))
    if environ.get("REQUEST_METHOD") == "HEAD":
        headers.append(("Content-Length", str(len(body))))
        return meta["status"], headers, b""
    return meta["status"], headers, body


_METAS: dict[bytes, dict] = {}


def _meta(raw: bytes) -> dict:
    """A stored page's status, headers and validators, parsed once per process
    (hits from the near cache hand back the same bytes each time)."""
    meta = _METAS.get(raw)
    if meta is None:
        if len(_METAS) > 10_000:
            _METAS.clear()
        meta = _METAS[raw] = json.loads(raw)
    return meta


def lookup(environ: dict, key: str, cache, config) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """A stored page for this request, ready to send (None: render it)."""
    environ["shop.page_cache.looked"] = True
    try:
        found = cache.get(key, ["m", "z"], LocalMemo.all_tags())
    except StoreDown:
        return None
    if found.fields is None:
        environ["shop.page_cache.miss"] = found  # the render starts from what the miss read
        return None
    meta = _meta(found.fields[0])
    if meta["expires"] <= _now():
        return None
    # Stored gzipped only (a quarter of the bytes to move); the rare client that
    # takes no gzip gets it inflated here.
    body = found.fields[1] if _wants_gzip(environ) else gzip.decompress(found.fields[1])
    return _answer(environ, meta, body, config)


class PageCacheMiddleware:
    """Answers page-cache hits before Flask sees the request."""

    def __init__(self, app):
        self.app = app
        self.wsgi_app = app.wsgi_app
        self.shared_endpoints: set[str] | None = None
        self.paths: dict[str, bool] = {}
        self.adapter = app.url_map.bind("localhost")
        self.hits = PAGE_CACHE.labels("hit")
        self.misses = PAGE_CACHE.labels("miss")

    def _cacheable(self, path: str) -> bool:
        known = self.paths.get(path)
        if known is not None:
            return known
        if self.shared_endpoints is None:
            self.shared_endpoints = {
                name for name, view in self.app.view_functions.items() if getattr(view, SHARED_VIEW_MARK, False)
            }
        try:
            endpoint, _args = self.adapter.match(path, method="GET")
            known = endpoint in self.shared_endpoints
        except Exception:  # noqa: BLE001 - not found, redirects, bad encodings: Flask answers those
            known = False
        if len(self.paths) > 20_000:
            self.paths.clear()
        self.paths[path] = known
        return known

    def __call__(self, environ, start_response):
        config = self.app.config
        if (
            environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and config["PAGE_CACHE_SECONDS"] > 0
            and MESSAGE_COOKIE not in environ.get("HTTP_COOKIE", "")
            and self._cacheable(environ.get("PATH_INFO", ""))
        ):
            if environ.get("QUERY_STRING"):
                # The page is rendered and keyed without them: the same entry for every
                # click, and no visitor's click id in the HTML others are given (the
                # browser's address bar keeps them for the analytics that read it).
                environ["QUERY_STRING"] = _without_tracking(environ["QUERY_STRING"])
            key = page_key(environ, config["LANGUAGES"], config["BABEL_DEFAULT_LOCALE"])
            if key is not None:
                started = time.perf_counter()
                served = lookup(environ, key, self.app.extensions["shared_cache"], config)
                if served is not None:
                    status, headers, body = served
                    headers.append(("Content-Length", str(len(body))))
                    headers.append(("X-Cache", "HIT"))
                    headers.append((REQUEST_ID_HEADER, incoming_request_id(environ)))
                    start_response(f"{status} {_REASONS.get(status, 'OK')}", headers)
                    self.hits.inc()
                    observe_request("page_cache", environ["REQUEST_METHOD"], status, time.perf_counter() - started)
                    return [body]
                self.misses.inc()
        return self.wsgi_app(environ, start_response)


_REASONS = {200: "OK", 304: "Not Modified", 404: "NOT FOUND"}
_REQUEST_STATE = (
    "shared_page",
    "cache_tags",
    "page_key",
    "page_s0",
    "page_started",
    "memo_stamps",
    "catalog_index_synced",
    "_flask_babel",  # Flask-Babel's locale of the request, with shop.template_env's language and translations
    "_login_user",  # Flask-Login's user of the request
)


class SharedAwareSessionInterface(SecureCookieSessionInterface):
    """Never sets the session cookie on a page rendered for everyone (a CDN could
    otherwise keep one visitor's cookie with the page)."""

    def should_set_cookie(self, app, session) -> bool:
        return not is_shared() and super().should_set_cookie(app, session)


def _mark_visitor(response) -> None:
    """Readable hints for the cache and for site.js: whether this visitor has a
    session worth asking /ca-nhan about, and whether flashed messages wait."""
    has_session = bool(session.get("_user_id") or session.get("cart_token"))
    if has_session and PERSONAL_COOKIE not in request.cookies:
        # Lives as long as the session cookie does (until the browser closes, or remember-me).
        lifetime = current_app.permanent_session_lifetime if session.permanent else None
        response.set_cookie(PERSONAL_COOKIE, "1", max_age=lifetime, samesite="Lax", secure=cookie_secure())
    elif not has_session and PERSONAL_COOKIE in request.cookies:
        response.delete_cookie(PERSONAL_COOKIE)
    waiting = bool(session.get("_flashes"))
    if waiting and MESSAGE_COOKIE not in request.cookies:
        response.set_cookie(MESSAGE_COOKIE, "1", samesite="Lax", secure=cookie_secure(), httponly=True)
    elif not waiting and MESSAGE_COOKIE in request.cookies:
        response.delete_cookie(MESSAGE_COOKIE)


def register_page_cache(app, compress) -> None:
    """Install the page cache. Call before any other extension registers an
    after-request hook: Flask runs them in reverse, so this one runs last and
    stores pages with every header the others added."""
    app.session_interface = SharedAwareSessionInterface()

    @app.before_request
    def forget_last_request():
        # An app context pushed around several requests (tests, scripts) shares
        # `g`; what a request learnt about its own render must not leak on.
        for name in _REQUEST_STATE:
            g.pop(name, None)

    @app.after_request
    def finish(response):
        if is_shared():
            return store_and_finish(response)
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "private, no-store")
            _mark_visitor(response)
        return compress.after_request(response)


def install_middleware(app) -> None:
    app.wsgi_app = PageCacheMiddleware(app)
