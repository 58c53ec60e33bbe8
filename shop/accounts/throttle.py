"""Wrong passwords slow the guesser down without locking the owner out.

Failures are counted per account *and* address: the first few are free, then
each further try from that address for that account waits twice as long as
the last (2 s, 4 s, 8 s … at most a minute) until a sign-in succeeds or the
failures are 15 minutes old. Someone guessing from elsewhere never blocks the
owner's own address, and the owner's own typo costs seconds, not 15 minutes.
Counts live in the rate limiter's store (Redis when there is one, shared by
every worker). With rate limits off (tests) nothing is counted.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app

from shop.extensions import limiter

FREE_FAILURES = 5
WINDOW_SECONDS = 15 * 60
MAX_WAIT_SECONDS = 60


def _keys(email: str, address: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"{email}\n{address}".encode()).hexdigest()[:32]
    return f"login-fail/{digest}", f"login-wait/{digest}"


def _storage():
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    return limiter.storage


def wait_seconds(failures: int) -> int:
    """How long the next try waits after `failures` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_WAIT_SECONDS, 2 ** (failures - FREE_FAILURES + 1))


def retry_after(email: str, address: str) -> int:
    """Seconds before this address may try this account's password again (0: now)."""
    storage = _storage()
    if storage is None:
        return 0
    _, wait_key = _keys(email, address)
    if not storage.get(wait_key):
        return 0
    return max(1, math.ceil(storage.get_expiry(wait_key) - time.time()))


def record_failure(email: str, address: str) -> int:
    """Count a wrong password; returns the wait before the next try."""
    storage = _storage()
    if storage is None:
        return 0
    fail_key, wait_key = _keys(email, address)
    failures = storage.incr(fail_key, WINDOW_SECONDS)
    wait = wait_seconds(failures)
    if wait:
        storage.clear(wait_key)
        storage.incr(wait_key, wait)
    return wait


def record_success(email: str, address: str) -> None:
    storage = _storage()
    if storage is None:
        return
    for key in _keys(email, address):
        storage.clear(key)
