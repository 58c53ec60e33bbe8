"""Producer API tokens: made in the portal (or by `flask producer-token`), shown
once, kept only as a SHA-256 hash plus a short prefix to recognise them by.

A token is 32 random bytes, so an unsalted fast hash is enough: there is
nothing to guess from it, and a lookup by hash is one indexed read."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.inventory.models import ApiToken
from shop.producers.models import Producer

TOKEN_PREFIX = "ocop_"
PREFIX_LENGTH = 12  # "ocop_" and 7 random characters: shown in lists
EXPIRY_CHOICES = (None, 30, 90, 365)  # days; None: never
LAST_USED_RESOLUTION = timedelta(minutes=1)  # write last_used_at at most this often


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


def is_usable(token: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or as_utc(token.expires_at) > now


def create_token(
    producer_id: int, name: str, *, created_by_id: int | None = None, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for the producer; returns the row and the token itself, which
    is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise ShopError(_l("Đặt tên cho token (ví dụ: “Phần mềm kho”)."), code="missing_name")
    if len(name) > 80:
        raise ShopError(_l("Tên token tối đa 80 ký tự."), code="name_too_long")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ShopError(_l("Thời hạn không hợp lệ."), code="bad_expiry")
    if db.session.get(Producer, producer_id) is None:
        raise NotFound(_l("Không tìm thấy nhà sản xuất."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        producer_id=producer_id,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_by_id=created_by_id,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.commit()
    return token, raw


def revoke_token(producer_id: int, token_id: int) -> ApiToken:
    """Revoke one of the producer's tokens (another producer's is a 404). Safe to repeat."""
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.producer_id == producer_id)
    ).first()
    if token is None:
        raise NotFound(_l("Không tìm thấy token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def tokens_of(producer_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.producer_id == producer_id).order_by(ApiToken.created_at.desc())
        )
    )


@dataclass(frozen=True)
class Caller:
    """Who is calling the producer API."""

    token_id: int
    producer_id: int


def authenticate(raw: str | None, now: datetime | None = None) -> Caller | None:
    """Who holds this secret: a usable token of an approved producer, else None.
    Records when it was last used (at most once a minute, to spare writes)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    row = db.session.execute(
        select(ApiToken, Producer.status)
        .join(Producer, Producer.id == ApiToken.producer_id)
        .where(ApiToken.token_hash == hash_token(raw))
    ).first()
    if row is None:
        return None
    token, producer_status = row
    if not is_usable(token, now) or producer_status != "approved":
        return None
    caller = Caller(token.id, token.producer_id)
    last = as_utc(token.last_used_at)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return caller
