"""Protection against cross-site requests, also for forms on shared cached pages.

Pages rendered for everyone (see `shop.page_cache`) cannot carry a per-session
token, so a POST without a token is accepted only when the browser itself says
it comes from this site: `Sec-Fetch-Site: same-origin`, or, from browsers that
do not send that header, an `Origin` equal to the site's own. Browsers set both
headers themselves and scripts on other sites cannot forge them; a request with
neither (or from elsewhere) is refused plainly. A token, where a personal page
carries one, is still checked as Flask-WTF does.
"""

from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf import CSRFProtect


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_this_site() -> bool:
    """Whether the browser says this request was made by one of our own pages."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    expected = {_origin_of(request.host_url)}
    if current_app.config.get("SITE_URL"):
        expected.add(_origin_of(current_app.config["SITE_URL"]))
    return origin.lower() in expected


class SameOriginCSRF(CSRFProtect):
    def protect(self):
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        if not self._get_csrf_token():
            if from_this_site():
                return
            self._error_response("This form was not sent from one of this site's pages.")
        super().protect()
