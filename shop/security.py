"""Security headers on every response, cached pages included.

`SecurityHeadersMiddleware` wraps the whole WSGI app (outside the page cache's
middleware), so a page served from the cache before Flask runs carries the
same headers as one Flask rendered, and static files and errors do too.

The Content-Security-Policy runs scripts only from this site and from Stripe.js
(the real one at js.stripe.com, or localstripe's fake in the demo and tests,
taken from STRIPE_JS_URL / STRIPE_API_BASE): no inline script, no eval. Styles
allow inline `style` attributes (bar widths in the console; Stripe.js sets
styles too). Nothing may frame our pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

STRIPE_JS_ORIGINS = ("https://js.stripe.com", "https://*.js.stripe.com")
STRIPE_FRAME_ORIGINS = ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com")


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def content_security_policy(config) -> str:
    js = _origin(config.get("STRIPE_JS_URL", ""))
    api = _origin(config.get("STRIPE_API_BASE", ""))
    script, connect, img = ["'self'"], ["'self'"], ["'self'", "data:"]
    frame: list[str] = []
    if js == "https://js.stripe.com":
        script += STRIPE_JS_ORIGINS
        frame += STRIPE_FRAME_ORIGINS
        img.append("https://*.stripe.com")
    elif js:  # localstripe: its fake Stripe.js calls the API on its own origin
        script.append(js)
        connect.append(js)
    if api and api not in connect:
        connect.append(api)
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(script),
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(img),
        "font-src 'self'",
        "connect-src " + " ".join(connect),
        "frame-src " + (" ".join(frame) if frame else "'none'"),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def security_headers(config) -> list[tuple[str, str]]:
    headers = [
        ("Content-Security-Policy", content_security_policy(config)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)"),
    ]
    if config.get("HSTS_SECONDS"):
        headers.append(("Strict-Transport-Security", f"max-age={int(config['HSTS_SECONDS'])}; includeSubDomains"))
    return headers


class SecurityHeadersMiddleware:
    """Adds the security headers to every response that does not set them itself."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._cached: tuple[tuple, list[tuple[str, str]]] | None = None

    def _headers(self) -> list[tuple[str, str]]:
        config = self.app.config
        # Tests and `make run` point the app at localstripe after it is built.
        key = (config.get("STRIPE_JS_URL"), config.get("STRIPE_API_BASE"), config.get("HSTS_SECONDS"))
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, security_headers(config))
        return self._cached[1]

    def __call__(self, environ, start_response):
        extra = self._headers()

        def with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(n, v) for n, v in extra if n.lower() not in present]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, with_headers)


def cookie_secure() -> bool:
    """Whether cookies we set ourselves (language, page-cache hints) say Secure:
    always in production (SESSION_COOKIE_SECURE), else when this request came by https."""
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        return True
    return has_request_context() and request.is_secure


def install_security_headers(app) -> None:
    """Call last in create_app: wraps every other WSGI middleware."""
    app.wsgi_app = SecurityHeadersMiddleware(app, app.wsgi_app)
