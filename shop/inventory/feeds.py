"""Fetching a producer's stock feed over HTTP: the one place the shop calls a
producer's server. Timeouts on connect and on every read, an overall deadline
(from the connection to the last byte, headers included),
a size cap enforced while streaming, no redirects to places we would not
fetch directly, and (unless FEED_ALLOW_PRIVATE_HOSTS) no addresses on our own
network, so a feed URL cannot be used to reach internal services."""

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from flask_babel import lazy_gettext as _l
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from shop.errors import Message

MAX_REDIRECTS = 3
PRIVATE_HOST = _l("Địa chỉ nguồn phải là máy chủ công khai trên Internet.")


class FeedError(Exception):
    """A feed that could not be used; `message` is for the producer (translated
    when read: the refusals of `check_url` reach the portal's form; a failed
    fetch is stored by the worker in the default language)."""

    def __init__(self, code: str, message: Message):
        super().__init__(message)
        self.code = code
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message)


@dataclass(frozen=True)
class Fetched:
    url: str
    body: bytes
    content_type: str


def check_url(url: str, *, allow_private: bool = False) -> str:
    """The URL if it is http(s) to a public host; FeedError otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("bad_url", _l("Địa chỉ nguồn phải bắt đầu bằng http:// hoặc https://."))
    if len(url) > 500:
        raise FeedError("bad_url", _l("Địa chỉ nguồn tối đa 500 ký tự."))
    if not allow_private:
        _check_public(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return url


def _check_public(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FeedError("dns", _l("Không tìm thấy máy chủ “%(host)s”.", host=host)) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FeedError("private_host", PRIVATE_HOST)


def _peer_is_public(response: requests.Response) -> bool:
    # The address actually connected to (DNS may answer differently the second time).
    try:
        sock = response.raw._connection.sock  # noqa: SLF001 - urllib3 exposes no public accessor
        return ipaddress.ip_address(sock.getpeername()[0]).is_global
    except (AttributeError, OSError, ValueError):
        return True  # nothing to check against (e.g. connection already released)


def _set_read_timeout(response: requests.Response, seconds: float) -> None:
    with contextlib.suppress(AttributeError, OSError):
        response.raw._connection.sock.settimeout(max(0.05, seconds))  # noqa: SLF001 - see _peer_is_public


def _read_body(
    response: requests.Response, started: float, timeout: float, deadline_seconds: float, max_bytes: int
) -> bytes:
    """The body, read with `read1` (whatever has arrived, at most 64 KiB), so that a
    server dripping a byte at a time without a Content-Length is checked against
    the overall deadline after every byte it sends, and each wait for the next
    bytes is bounded by what is left of that deadline."""
    chunks: list[bytes] = []
    size = 0
    too_slow = FeedError("timeout", f"Tải nguồn mất quá {deadline_seconds:g} giây.")
    while True:
        left = deadline_seconds - (time.monotonic() - started)
        if left <= 0:
            raise too_slow
        _set_read_timeout(response, min(timeout, left))
        try:
            chunk = response.raw.read1(64 * 1024, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError) or "timed out" in str(exc).lower():
                if time.monotonic() - started >= deadline_seconds:
                    raise too_slow from None
                raise FeedError("timeout", f"Máy chủ nguồn không trả lời trong {timeout:g} giây.") from None
            raise FeedError("connection", f"Tải nguồn bị gián đoạn ({type(exc).__name__}).") from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FeedError("too_big", f"Nguồn lớn hơn {max_bytes // (1024 * 1024)} MB.")
        chunks.append(chunk)


class _Deadline:
    """Shuts the sockets of one fetch down when its overall deadline passes, whatever
    the fetch is blocked in: a server may drip its status line and headers a byte
    at a time, where no per-read timeout ever fires and `_read_body` is not yet
    reading. Each connection the fetch opens registers its socket here."""

    def __init__(self, seconds: float):
        self.passed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self.passed:
                sock.shutdown(socket.SHUT_RDWR)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv in the fetching thread

    def session(self) -> requests.Session:
        """A requests session whose connections register their sockets here."""
        deadline = self

        class Watched(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return deadline.watch(super()._new_conn())

        class WatchedTLS(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return deadline.watch(super()._new_conn())

        class Pool(HTTPConnectionPool):
            ConnectionCls = Watched

        class TLSPool(HTTPSConnectionPool):
            ConnectionCls = WatchedTLS

        class Adapter(HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs) -> None:
                super().init_poolmanager(*args, **kwargs)
                self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

        session = requests.Session()
        session.mount("http://", Adapter())
        session.mount("https://", Adapter())
        return session


def fetch(
    url: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = 5 * 1024 * 1024,
    deadline_seconds: float = 30.0,
    allow_private: bool = False,
) -> Fetched:
    """GET the feed, streamed; FeedError with a message for the producer on any problem.
    `deadline_seconds` bounds the whole fetch, from connecting to the last byte,
    however slowly the server sends its headers or its body."""
    started = time.monotonic()
    with _Deadline(deadline_seconds) as deadline, deadline.session() as session:
        too_slow = FeedError("timeout", f"Tải nguồn mất quá {deadline_seconds:g} giây.")
        try:
            fetched = _fetch(session, url, started, timeout, deadline_seconds, max_bytes, allow_private)
        except FeedError:
            if deadline.passed:
                raise too_slow from None
            raise
        if deadline.passed:  # a socket shut down mid-body reads as its end: not a whole feed
            raise too_slow
        return fetched


def _fetch(
    session: requests.Session,
    url: str,
    started: float,
    timeout: float,
    deadline_seconds: float,
    max_bytes: int,
    allow_private: bool,
) -> Fetched:
    for _ in range(MAX_REDIRECTS + 1):
        url = check_url(url, allow_private=allow_private)
        try:
            response = session.get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=(timeout, timeout),
                headers={
                    "Accept": "text/csv, application/json;q=0.9, */*;q=0.1",
                    "User-Agent": "ChoOCOP-StockFeed/1",
                },
            )
        except requests.Timeout:
            raise FeedError("timeout", f"Máy chủ nguồn không trả lời trong {timeout:g} giây.") from None
        except requests.RequestException as exc:
            raise FeedError("connection", f"Không kết nối được tới nguồn ({type(exc).__name__}).") from None
        with response:
            if not allow_private and not _peer_is_public(response):
                raise FeedError("private_host", PRIVATE_HOST)
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code != 200:
                raise FeedError("http_status", f"Nguồn trả về mã HTTP {response.status_code}.")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FeedError("too_big", f"Nguồn lớn hơn {max_bytes // (1024 * 1024)} MB.")
            body = _read_body(response, started, timeout, deadline_seconds, max_bytes)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return Fetched(url, body, content_type)
    raise FeedError("redirects", "Nguồn chuyển hướng quá nhiều lần.")
