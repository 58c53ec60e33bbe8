"""Partner webhooks on the wire: the signature, and the one HTTP call that sends them.

    X-OCOP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

A partner recomputes v1 over the raw body it received (not a re-serialised
copy), compares in constant time, and refuses timestamps older than a few
minutes so that a captured request cannot be replayed later (`verify`)."""

import hashlib
import hmac
import time
from dataclasses import dataclass

import requests

SIGNATURE_HEADER = "X-OCOP-Signature"
DEFAULT_TOLERANCE = 300  # seconds


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str, body: bytes, header: str | None, *, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None
) -> bool:
    """Whether `header` is a valid, recent signature of `body` (what a partner runs)."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str = ""


def send(url: str, secret: str, body: bytes, *, delivery_id: int, event: str, timeout: float) -> SendResult:
    """POST one signed delivery. Any 2xx is success; redirects are not followed
    (a partner moving its endpoint must tell the operator)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ChoOCOP-Webhooks/1",
        "X-OCOP-Event": event,
        "X-OCOP-Delivery": str(delivery_id),
        SIGNATURE_HEADER: signature(secret, body, int(time.time())),
    }
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
        )
        with response:
            if 200 <= response.status_code < 300:
                return SendResult(True)
            snippet = next(response.iter_content(200), b"").decode("utf-8", "replace")
            return SendResult(False, f"HTTP {response.status_code}: {snippet}")
    except requests.RequestException as exc:
        return SendResult(False, f"{type(exc).__name__}: {exc}"[:500])
