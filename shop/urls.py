"""Absolute links, for e-mails, feeds, the API and pages alike (below the
templating layer, so services can build links without importing templates)."""

from urllib.parse import unquote, urlsplit

from flask import current_app, has_request_context, request, url_for


def absolute_url(endpoint: str, **values) -> str:
    """An absolute URL: on SITE_URL when configured (always in production), else on the
    host of the current request; outside a request (worker e-mails) on localhost."""
    base = current_app.config.get("SITE_URL")
    if base:
        if has_request_context():
            return base.rstrip("/") + url_for(endpoint, **values)
        with current_app.test_request_context("/"):  # worker e-mails, CLI: the path alone, on SITE_URL
            return base.rstrip("/") + url_for(endpoint, **values)
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        return url_for(endpoint, _external=True, **values)


MAX_REDIRECT_LENGTH = 2000


def _leaves_site(path: str) -> bool:
    # Browsers drop tabs and newlines anywhere in a URL and read "\" as "/", so
    # "/\t/evil.example" and "/\evil.example" are "//evil.example" to them.
    return (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in path)
    )


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site ("/gio-hang?x=1"), else None.

    The one check for every `next` and redirect back: never another host, a
    scheme, a scheme-relative URL, a backslash, a control or space character,
    nor any of those once percent-decoded (a proxy or a browser may decode)."""
    if not target or len(target) > MAX_REDIRECT_LENGTH or _leaves_site(target):
        return None
    decoded = unquote(target)
    if _leaves_site(decoded) or unquote(decoded) != decoded and _leaves_site(unquote(decoded)):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def safe_redirect(target: str | None, default: str) -> str:
    """Where to send the visitor back: `target` if it is a path on this site, or a
    full URL on this site's own origin (a Referer), else `default`."""
    if target and not target.startswith("/") and has_request_context():
        parts = urlsplit(target)
        origins = {request.host_url.rstrip("/").lower()}
        if current_app.config.get("SITE_URL"):
            origins.add(current_app.config["SITE_URL"].rstrip("/").lower())
        if parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}".lower() in origins:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
    return local_path(target) or default


def media_path_url(path: str, external: bool = False) -> str:
    """The URL of a public media file: on MEDIA_URL_BASE (a CDN) when configured,
    else the app's own /media/ route (absolute when `external`)."""
    base = (current_app.config.get("MEDIA_URL_BASE") or "").rstrip("/")
    if base:
        return f"{base}/{path}"
    if external:
        return absolute_url("catalog.media", path=path)
    return url_for("catalog.media", path=path)
