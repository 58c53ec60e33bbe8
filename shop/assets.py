"""Static files under fingerprinted URLs, so browsers and CDNs keep them a year.

`url_for("static", filename=...)` adds ``?v=<hash of the file's bytes>``; a
changed file gets a new URL, so a response to a fingerprinted URL may say
``immutable``. Media files are named by random tokens when uploaded (a new photo
is a new name), so they are immutable too (see shop.catalog.views.media).
"""

import gzip
import hashlib
from pathlib import Path

from flask import request

COMPRESSIBLE = (".css", ".js", ".svg", ".json", ".txt")

YEAR = 365 * 86400


def register_assets(app) -> None:
    root = Path(app.static_folder)
    versions: dict[str, str] = {}

    def version(filename: str) -> str | None:
        if not app.debug and filename in versions:  # files change only with a deploy
            return versions[filename]
        path = root / filename
        try:
            found = hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()
        except OSError:
            return None
        versions[filename] = found
        return found

    @app.url_defaults
    def fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            v = version(values["filename"])
            if v:
                values["v"] = v

    serve = app.view_functions["static"]
    zipped: dict[tuple[str, str], bytes] = {}

    def static(filename: str):
        response = serve(filename=filename)
        if (
            response.status_code == 200
            and filename.endswith(COMPRESSIBLE)
            and "gzip" in request.headers.get("Accept-Encoding", "")
        ):
            # Small text files, compressed once per version and process.
            key = (filename, version(filename) or "")
            if key not in zipped:
                zipped[key] = gzip.compress((root / filename).read_bytes(), mtime=0)
            response.close()
            response.direct_passthrough = False
            response.set_data(zipped[key])
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
            etag, _weak = response.get_etag()
            if etag:  # the same validator may name both encodings only if it is weak
                response.set_etag(etag, weak=True)
        if request.args.get("v") and response.status_code == 200:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static
