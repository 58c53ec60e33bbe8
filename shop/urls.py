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
