"""Signed, expiring tokens for e-mail links (no database rows).

One salt per purpose, so a verification token can never be used to reset a
password. A reset token carries a fingerprint of the password hash it was
issued against: once the password changes, the fingerprint no longer matches
and the token is dead, which makes it single-use without storing anything.
"""

import hashlib
import secrets

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

VERIFY_EMAIL = "accounts.verify-email"
RESET_PASSWORD = "accounts.reset-password"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the stored hash: changes whenever the password does."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:20]


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_token_hash(token: str) -> str:
    """What the database keeps of a session token (a stolen table opens no session)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _serializer(secret: str, purpose: str, issued_at: int | None = None) -> URLSafeTimedSerializer:
    if issued_at is None:
        return URLSafeTimedSerializer(secret, salt=purpose)

    stamp = issued_at  # narrowed to int here; the class body below cannot see the narrowing

    class IssuedAt(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(secret, salt=purpose, signer=IssuedAt)


def make_token(secret: str, purpose: str, payload: dict, *, issued_at: int | None = None) -> str:
    """Sign `payload` for `purpose`; `issued_at` (Unix seconds) back-dates it, for tests."""
    return _serializer(secret, purpose, issued_at).dumps(payload)


def read_token(secret: str, purpose: str, token: str, max_age: int) -> dict:
    """The payload, or TokenExpired / TokenInvalid."""
    try:
        payload = _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired as err:
        raise TokenExpired from err
    except BadSignature as err:
        raise TokenInvalid from err
    if not isinstance(payload, dict):
        raise TokenInvalid
    return payload
