"""Absolute links, for e-mails, feeds, the API and pages alike (below the
templating layer, so services can build links without importing templates)."""

from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, **values) -> str:
    """An absolute URL: on SITE_URL when configured (always in production), else on the
    host of the current request; outside a request (worker e-mails) on localhost."""
    base = current_app.config.get("SITE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        return url_for(endpoint, _external=True, **values)


def media_path_url(path: str, external: bool = False) -> str:
    """The URL of a public media file: on MEDIA_URL_BASE (a CDN) when configured,
    else the app's own /media/ route (absolute when `external`)."""
    base = (current_app.config.get("MEDIA_URL_BASE") or "").rstrip("/")
    if base:
        return f"{base}/{path}"
    if external:
        return absolute_url("catalog.media", path=path)
    return url_for("catalog.media", path=path)
