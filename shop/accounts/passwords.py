"""Password hashing with Argon2id (argon2-cffi's RFC 9106 defaults).

The test configuration sets FAST_PASSWORD_HASHING, which swaps in the cheapest
Argon2id parameters: the suite creates and signs in hundreds of users, and the
strength of a test user's hash is not what those tests are about."""

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

_STRONG = PasswordHasher()
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _current() -> PasswordHasher:
    fast = has_app_context() and current_app.config.get("FAST_PASSWORD_HASHING", False)
    return _FAST if fast else _STRONG


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verified against when the e-mail is unknown, so that a wrong address costs
    # the same time as a wrong password and timing does not reveal accounts.
    return hasher.hash("not anyone's password")


def hash_password(password: str) -> str:
    return _current().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash, spends the same time and says no."""
    hasher = _current()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's."""
    return _current().check_needs_rehash(password_hash)
