"""Looking at the shared page cache from the outside, as a browser or CDN would."""


def from_cache(client, url: str) -> bool:
    """Whether `url` is answered from the page cache right now."""
    return client.get(url).headers.get("X-Cache") == "HIT"


def warm(client, url: str) -> None:
    """Render `url` into the page cache and check that it is served from there."""
    client.get(url)
    assert from_cache(client, url), f"{url} did not go into the page cache"
